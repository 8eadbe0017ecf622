//! The values that cross to the Elixir side, both ways, as JSON: the same bytes whether the
//! check runs in the VM (the NIF) or in a separate process (`callconv isolated`).
//!
//! Out: a [`LibraryReport`] serialized by its one serde definition (the same as in the
//! JSON document). In: a [`CheckRequest`], the target and what to check, as one value.
//! Paths are not in the request: they are bytes, not necessarily UTF-8, and travel beside it.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::check::{Analyse, Options};
use crate::platform::Arch;
use crate::report::LibraryReport;
use crate::target::{Target, TargetSource};

/// One check as Elixir asks for it (`Callconv.Wire` writes it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The runtime that will load the library, with the fields the JSON document leaves out
    /// (`enif_exports`, `vm_exports`, `vm_bind_now`).
    #[serde(deserialize_with = "lenient_target")]
    pub target: Target,
    /// See [`Options::module`].
    #[serde(default)]
    pub module: Option<String>,
    /// See [`Options::functions`].
    #[serde(default)]
    pub functions: Option<Vec<(String, u32)>>,
    /// See [`Options::declared_nifs`].
    #[serde(default)]
    pub declared_nifs: Option<Vec<(String, u32)>>,
    /// With a probe: run it unsandboxed.
    #[serde(default)]
    pub probe_unsandboxed: bool,
    /// Every exported function against the platform's C conventions, not the NIF.
    #[serde(default)]
    pub exports: bool,
}

impl CheckRequest {
    /// Parses a request; the error names what is wrong with it.
    pub fn from_json(json: &[u8]) -> Result<CheckRequest, String> {
        let request: CheckRequest =
            serde_json::from_slice(json).map_err(|e| format!("invalid check request: {e}"))?;
        // The target's CPU name, validated here so that a bad one is an error, never a
        // silently skipped isa-level check.
        crate::analysis::IsaLevel::for_target(&request.target)
            .map_err(|e| format!("invalid check request: {e}"))?;
        Ok(request)
    }

    /// The check options, with the probe's executable and the target's root directory.
    pub fn into_options(self, probe: Option<PathBuf>, root: Option<PathBuf>) -> Options {
        Options {
            module: self.module,
            functions: self.functions,
            declared_nifs: self.declared_nifs,
            probe,
            probe_confinement: if self.probe_unsandboxed {
                crate::probe::Confinement::Unsandboxed
            } else {
                crate::probe::Confinement::Sandboxed
            },
            root,
            analyse: if self.exports {
                Analyse::Exports
            } else {
                Analyse::Nif
            },
            ..Options::new(self.target)
        }
    }
}

/// A target as Elixir holds it: its arch, endianness and source are atoms a user may have
/// spelt as a triple does (`:amd64`, `:arm64`), so they are read as the term boundary always
/// read them (alias spellings, little unless `big`, explicit unless known) before the strict
/// serde definition takes the rest.
fn lenient_target<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Target, D::Error> {
    let mut value = Value::deserialize(d)?;
    if let Some(object) = value.as_object_mut() {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let arch = Arch::parse(&text(object.get("arch")));
        let big = text(object.get("endian")) == "big";
        let source =
            TargetSource::parse(&text(object.get("source"))).unwrap_or(TargetSource::Explicit);
        object.insert("arch".into(), Value::from(arch.as_str()));
        object.insert(
            "endian".into(),
            Value::from(if big { "big" } else { "little" }),
        );
        object.insert("source".into(), Value::from(source.as_str()));
    }
    Target::deserialize(value).map_err(serde::de::Error::custom)
}

/// A report as the JSON value Elixir decodes (`Callconv.Wire`), compact.
pub fn report_json(report: &LibraryReport) -> String {
    // Plain data with string keys: serialising cannot fail; an empty object (which Elixir
    // rejects as a report missing its fields) rather than a panic if it ever did.
    serde_json::to_string(report).unwrap_or_else(|_| "{}".to_string())
}

/// The outcome of one check as `{"ok": report}` or `{"error": {reason, path, message}}`:
/// what `callconv isolated` writes.
pub fn outcome_json(outcome: &Result<LibraryReport, crate::Error>) -> String {
    let value = match outcome {
        Ok(report) => serde_json::json!({ "ok": report }),
        Err(e) => serde_json::json!({ "error": {
            "reason": e.reason(),
            "path": e.path().to_string_lossy(),
            "message": e.to_string(),
        }}),
    };
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_carries_the_target_fields_the_document_leaves_out() {
        let json =
            br#"{"target": {"source": "running-vm", "otp_release": "25", "erts_version": null,
            "nif_version": "2.16", "arch": "amd64", "os": "linux", "bits": 64, "endian": "little",
            "libc": "gnu", "libc_version": "2.36", "abi_variant": null, "os_version": null,
            "enif_exports": ["enif_alloc"], "vm_exports": "a\nb", "vm_bind_now": true},
            "functions": [["add", 2]], "exports": true}"#;
        let request = CheckRequest::from_json(json).unwrap();
        assert_eq!(request.target.arch, Arch::X86_64);
        assert_eq!(request.target.source, TargetSource::RunningVm);
        assert_eq!(
            request.target.enif_exports,
            Some(vec!["enif_alloc".to_string()])
        );
        assert_eq!(request.target.vm_exports.as_deref(), Some("a\nb"));
        assert_eq!(request.target.vm_bind_now, Some(true));
        assert_eq!(request.functions, Some(vec![("add".to_string(), 2)]));
        let options = request.into_options(None, None);
        assert_eq!(options.analyse, Analyse::Exports);
    }

    #[test]
    fn a_request_carries_the_target_cpu_and_refuses_an_unknown_one() {
        let request = |cpu: &str| {
            format!(
                r#"{{"target": {{"source": "explicit", "arch": "aarch64", "os": "linux", "bits": 64,
                "endian": "little", "otp_release": null, "erts_version": null, "nif_version": null,
                "libc": "gnu", "cpu": {cpu}}}}}"#
            )
        };
        let ok = CheckRequest::from_json(request(r#""cortex-a53""#).as_bytes()).unwrap();
        assert_eq!(ok.target.cpu.as_deref(), Some("cortex-a53"));
        let isa = ok
            .into_options(None, None)
            .target_isa
            .expect("a target CPU");
        assert!(
            isa.has("crc32") && !isa.has("aes") && isa.assumed.is_none(),
            "{isa:?}"
        );
        let none = CheckRequest::from_json(request("null").as_bytes()).unwrap();
        assert_eq!(none.target.cpu, None);
        let err = CheckRequest::from_json(request(r#""power9""#).as_bytes()).unwrap_err();
        assert!(err.contains("for powerpc64, not for aarch64"), "{err}");
        let err = CheckRequest::from_json(request(r#""cortex-a99""#).as_bytes()).unwrap_err();
        assert!(
            err.contains("cortex-a53") && err.contains("+crypto"),
            "{err}"
        );
    }

    #[test]
    fn a_request_with_an_unknown_field_is_refused() {
        let json = br#"{"target": {"source": "host", "arch": "x86_64", "os": "linux", "bits": 64,
            "endian": "little", "otp_release": null, "erts_version": null, "nif_version": null,
            "libc": null}, "modul": "Elixir.Foo"}"#;
        let err = CheckRequest::from_json(json).unwrap_err();
        assert!(err.contains("modul"), "{err}");
    }
}
