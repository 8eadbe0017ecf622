//! Checks on the decoded NIF entry against the target runtime.

use std::collections::HashSet;

use super::*;
use crate::entry::{Decoded, EntryError, INIT_NAMES};
use crate::inspect::Binary;
use crate::target::Target;

/// The version the BEAM checks first: major 2 only (`ERL_NIF_MIN_REQUIRED_MAJOR_VERSION_ON_LOAD`).
const REQUIRED_MAJOR: i32 = 2;
/// The most arguments an Erlang function takes.
const MAX_ARITY: u32 = 255;

/// What an entry is checked against: the runtime that loads it and, as far as they are known,
/// the module that calls `load_nif` and its functions.
#[derive(Debug, Clone, Copy)]
pub struct Loader<'a> {
    /// The runtime that will load the library.
    pub target: &'a Target,
    /// The module that will call `load_nif` (e.g. `Elixir.MyNif`).
    pub module: Option<&'a str>,
    /// That module's functions, as name and arity.
    pub functions: Option<&'a [(String, u32)]>,
    /// The functions that module declares as NIFs (OTP 25's `-nifs`).
    pub declared_nifs: Option<&'a [(String, u32)]>,
}

/// Checks one decoded entry, in the order the BEAM's `erts_load_nif` would.
pub fn check_entry(decoded: &Decoded, loader: &Loader<'_>) -> Vec<Finding> {
    let target = loader.target;
    let mut out = Vec::new();
    let e = &decoded.entry;
    let version = format!("{}.{}", e.major, e.minor);
    let runtime = target.nif_version();
    let runtime_name = runtime_label(target);

    let too_new = e.major > REQUIRED_MAJOR
        || runtime.is_some_and(|(maj, min)| e.major == maj && e.minor > min);
    if e.major != REQUIRED_MAJOR {
        out.push(NIF_MAJOR_VERSION.finding(
            format!(
                "the library declares NIF version {version}; the BEAM only loads major version 2"
            ),
            format!(
                "rebuild {} against the erl_nif.h of the OTP release you deploy to",
                e.module
            ),
        ));
    } else if too_new {
        let (maj, min) = runtime.unwrap_or_default();
        out.push(NIF_VERSION_TOO_NEW.finding(
            format!(
                "the library needs NIF {version} ({}) but {runtime_name} implements NIF {maj}.{min}",
                e.min_erts.as_deref().unwrap_or("min_erts not set")
            ),
            format!(
                "rebuild against OTP headers with NIF {maj}.{min} or older (for Rustler, enable nif_version_{maj}_{min} at most), or deploy to a newer runtime"
            ),
        ));
    }
    if e.major == 2 && e.minor == 5 {
        out.push(NIF_VERSION_2_5.finding(
            "the library declares NIF version 2.5, which the BEAM rejects on every release",
            "rebuild against a current erl_nif.h",
        ));
    }
    if decoded.min_erts_null {
        // The BEAM prints min_erts only when the library is too new; then a NULL crashes it.
        let severity = if too_new || runtime.is_none() {
            Severity::Error
        } else {
            Severity::Warning
        };
        let consequence = if too_new {
            format!("{runtime_name} finds the library too new and crashes with SIGSEGV formatting that NULL")
        } else {
            "any runtime older than the library would crash with SIGSEGV formatting that NULL instead of refusing it".to_string()
        };
        out.push(NIF_MIN_ERTS_NULL.finding_at(
            severity,
            format!("the entry of NIF {version} has a NULL min_erts; {consequence}"),
            "set min_erts to a string such as \"erts-12.0\" (ERL_NIF_MIN_ERTS_VERSION) in the entry",
        ));
    }
    if let Some(generator) = &decoded.short_entry {
        // ERTS reads min_erts only to word the "too new" refusal; then it reads past the end.
        let (severity, consequence) = if too_new {
            (
                Severity::Error,
                format!("{runtime_name} finds the library too new and reads min_erts from whatever follows the entry in memory: a garbage message, or a crash (SIGSEGV) when that word is NULL"),
            )
        } else {
            (
                Severity::Warning,
                "a runtime older than the library would read min_erts from whatever follows the entry in memory, and crash when that word is NULL, instead of refusing it".to_string(),
            )
        };
        let feature = runtime
            .filter(|_| too_new)
            .map(|(maj, min)| format!("nif_version_{maj}_{min} or lower"))
            .unwrap_or_else(|| {
                "a nif_version_2_x feature every target runtime supports".to_string()
            });
        out.push(NIF_ENTRY_SHORT.finding_at(
            severity,
            format!("{generator} builds an ErlNifEntry that ends before min_erts, yet declares NIF {version}, whose entry has it; {consequence}"),
            format!("upgrade Rustler to 0.37 or later (its entry has min_erts), or build with {feature}"),
        ));
    }
    match (&e.vm_variant, decoded.vm_variant_null) {
        (Some(v), _) if v != "beam.vanilla" => out.push(NIF_VM_VARIANT.finding(
            format!(
                "the entry's vm_variant is {v:?}; the BEAM only loads \"beam.vanilla\" libraries"
            ),
            "rebuild with the standard ERL_NIF_INIT macro",
        )),
        (None, true) => out.push(NIF_VM_VARIANT.finding(
            "the entry's vm_variant is NULL; the BEAM compares it with strcmp and crashes",
            "set vm_variant to \"beam.vanilla\"",
        )),
        _ => {}
    }
    // The BEAM stops at a refused version and never reads the function table; below 2.7 the
    // table's layout is also a guess. Checking it would only add noise.
    let version_refused = e.major != REQUIRED_MAJOR || too_new || (e.major == 2 && e.minor == 5);
    if version_refused {
        return out;
    }
    if decoded.declared_functions < 0
        || decoded.declared_functions > crate::entry::MAX_FUNCTIONS as i64
    {
        out.push(NIF_FUNCTION_COUNT.finding(
            format!(
                "the entry declares {} functions",
                decoded.declared_functions
            ),
            "the entry is corrupt; rebuild the library",
        ));
    }
    // Step 9: the name must equal the calling module, compared as a Latin-1 string.
    if let Some(module) = loader.module {
        if e.module != module {
            out.push(NIF_MODULE_MISMATCH.finding(
                format!(
                    "the library is for module {:?} but {module} will load it: \"Library module name '{}' does not match calling module '{module}'\"",
                    e.module, e.module
                ),
                format!("build the NIF with module name {module:?} (ERL_NIF_INIT / rustler::init!), or load it from {:?}", e.module),
            ));
            // The BEAM stops here; the function table belongs to another module.
            return out;
        }
    }
    let module_functions: Option<HashSet<(&str, u32)>> = loader
        .functions
        .map(|fs| fs.iter().map(|(n, a)| (n.as_str(), *a)).collect());
    // A module that declares its NIFs (OTP 25's -nifs) has them marked in its code; a runtime
    // older than OTP 25 cannot load such a module at all, so the rule is for 25 and later.
    let declared: Option<HashSet<(&str, u32)>> = loader
        .declared_nifs
        .filter(|_| {
            target
                .otp_release
                .as_deref()
                .and_then(|o| o.parse::<u32>().ok())
                .is_none_or(|otp| otp >= 25)
        })
        .map(|fs| fs.iter().map(|(n, a)| (n.as_str(), *a)).collect());
    let mut seen = HashSet::new();
    for f in &e.functions {
        let mfa = format!("{}:{}/{}", e.module, f.name, f.arity);
        let key = (f.name.as_str(), f.arity);
        if let Some(functions) = &module_functions {
            if !functions.contains(&key) {
                out.push(NIF_FUNCTION_NOT_IN_MODULE.finding(
                    format!("{mfa} is in the NIF table but the module has no {}/{}: \"Function not found {mfa}\"", f.name, f.arity),
                    format!("add a stub {}/{} to the module, or remove it from the NIF table", f.name, f.arity),
                ));
            }
        }
        // The BEAM looks the function up first: one the module lacks is "not found" instead.
        let in_module = module_functions
            .as_ref()
            .is_none_or(|functions| functions.contains(&key));
        if let Some(declared) = declared.as_ref().filter(|_| in_module) {
            if !declared.contains(&key) {
                out.push(NIF_NOT_DECLARED.finding(
                    format!("{mfa} is in the NIF table, but the module declares its NIFs (-nifs) without {}/{}: \"Function not declared as nif {mfa}\"", f.name, f.arity),
                    format!("add {}/{} to the module's -nifs([...]) (Elixir: @nifs), or remove it from the NIF table", f.name, f.arity),
                ));
            }
        }
        if f.arity > MAX_ARITY {
            out.push(NIF_ARITY_TOO_LARGE.finding(
                format!(
                    "{mfa} has arity {}, above the maximum of {MAX_ARITY}",
                    f.arity
                ),
                "take the arguments as one tuple or list",
            ));
        }
        if f.flags > 2 {
            out.push(NIF_ILLEGAL_FLAGS.finding(
                format!(
                    "{mfa} has flags {}; only 0, 1 (dirty CPU) and 2 (dirty IO) are legal",
                    f.flags
                ),
                "fix the flags field of this ErlNifFunc entry",
            ));
        }
        if !seen.insert((f.name.as_str(), f.arity)) {
            out.push(NIF_DUPLICATE_FUNCTION.finding(
                format!("{mfa} appears more than once in the function table"),
                "remove the duplicate ErlNifFunc entry",
            ));
        }
    }
    out
}

fn runtime_label(target: &Target) -> String {
    match (&target.otp_release, &target.erts_version) {
        (Some(otp), Some(erts)) => format!("the target runtime (OTP {otp}, ERTS {erts})"),
        (Some(otp), None) => format!("the target runtime (OTP {otp})"),
        _ => "the target runtime".to_string(),
    }
}

/// `name` (the init function) always returns NULL, so the BEAM refuses the library.
pub fn init_null(name: &str) -> Finding {
    NIF_INIT_NULL.finding(
        format!("{name} returns NULL: load_nif fails with \"Library init-call unsuccessful\""),
        "return the address of the ErlNifEntry (the ERL_NIF_INIT macro does); do setup work in the load callback, which can refuse with a reason",
    )
}

/// `name` (the init function) is exported but its entry could not be decoded, for `why`.
pub fn entry_unreadable(name: &str, why: &EntryError) -> Finding {
    NIF_ENTRY_UNREADABLE.finding(
        format!("{name} is exported, but its ErlNifEntry could not be decoded: {why}"),
        "the version, module and function-table checks were skipped for this library",
    )
}

/// Why there is no init function, and how bad that is: an error when the init exists but is
/// hidden, or when `module` (the caller, if known) means to `load_nif` this library;
/// otherwise just information. `driver`: the library exports `driver_init`.
pub fn no_init<R>(binary: &Binary<R>, driver: bool, module: Option<&str>) -> Finding {
    let hidden = binary
        .init_like_symbols
        .iter()
        .find(|n| INIT_NAMES.contains(&n.as_str()) || n.ends_with("_nif_init"));
    if let Some(name) = hidden {
        let why = if INIT_NAMES.contains(&name.as_str()) {
            format!("{name} is defined but not exported (hidden visibility)")
        } else {
            format!("only {name} is defined: it was built as a static NIF (STATIC_ERLANG_NIF)")
        };
        return NIF_INIT_NOT_EXPORTED.finding(
            format!("{why}; load_nif fails with \"Failed to find library init function\""),
            "export nif_init: build with ERL_NIF_INIT from OTP 19 or later, without -DSTATIC_ERLANG_NIF",
        );
    }
    let what = if driver {
        "a port driver (it exports driver_init)"
    } else {
        "a plain shared library"
    };
    match module {
        Some(module) => NOT_A_NIF.finding_at(
            Severity::Error,
            format!(
                "no nif_init export: this is {what}, not a NIF, so {module} cannot load it with load_nif (\"Failed to find library init function\")"
            ),
            "point load_nif at the NIF library itself, not at a driver or a dependency",
        ),
        None => NOT_A_NIF.finding(
            format!("no nif_init export: this is {what}, not a NIF"),
            "nothing to do if it is a dependency of a NIF or a driver",
        ),
    }
}
