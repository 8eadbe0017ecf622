//! The NIF glue: terms in, core call on a dirty scheduler, terms out. No logic lives here.

mod document;
mod terms;

use std::path::PathBuf;

use rustler::{Binary, Encoder, Env, NifResult, Term};

use callconv::target::Target;
use terms::{ExError, ExTarget};

/// A path from an Elixir binary, byte for byte, so non-UTF-8 names work.
fn path_of(bytes: &Binary) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(bytes.as_slice()))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(bytes.as_slice()).into_owned())
    }
}

/// Checks one library. `request` is a `callconv::wire::CheckRequest` as JSON (the target and
/// what to check); the paths travel as bytes beside it. The report comes back as JSON, the
/// same bytes `callconv isolated` writes, and Elixir decodes both alike. Reading and parsing
/// a large file takes well over 1 ms.
#[rustler::nif(schedule = "DirtyCpu")]
fn check<'a>(
    env: Env<'a>,
    path: Binary,
    request: Binary,
    // callconv's command-line tool, when the probe is asked for.
    probe: Option<Binary>,
    root: Option<Binary>,
) -> NifResult<Term<'a>> {
    let request = callconv::wire::CheckRequest::from_json(request.as_slice())
        .map_err(|e| rustler::Error::RaiseTerm(Box::new(format!("callconv: {e}"))))?;
    let options = request.into_options(probe.as_ref().map(path_of), root.as_ref().map(path_of));
    Ok(match callconv::check_path_with(&path_of(&path), &options) {
        Ok(report) => {
            let json = callconv::wire::report_json(&report);
            let mut bin = rustler::NewBinary::new(env, json.len());
            bin.as_mut_slice().copy_from_slice(json.as_bytes());
            (rustler::types::atom::ok(), Term::from(bin)).encode(env)
        }
        Err(e) => (rustler::types::atom::error(), ExError::from(e)).encode(env),
    })
}

/// The runtime of an ERTS directory (its `beam.smp` is read, not run).
#[rustler::nif(schedule = "DirtyIo")]
fn read_erts(dir: Binary) -> Result<ExTarget, ExError> {
    callconv::runtime::read_erts(&path_of(&dir))
        .map(ExTarget::from)
        .map_err(ExError::from)
}

/// `target` changed to OTP release `otp` from the built-in table.
#[rustler::nif]
fn target_with_otp(target: ExTarget, otp: u32) -> Result<ExTarget, String> {
    Target::from(target).with_otp(otp).map(ExTarget::from)
}

/// `target` moved to the platform of a target triple (see `Target::for_triple`).
#[rustler::nif]
fn target_for_triple(target: ExTarget, triple: String) -> Result<ExTarget, String> {
    Target::from(target).for_triple(&triple).map(ExTarget::from)
}

/// `target` with its CPU set to `cpu`, validated against its architecture (see
/// `IsaLevel::target_with_cpu`).
#[rustler::nif]
fn target_with_cpu(target: ExTarget, cpu: String) -> Result<ExTarget, String> {
    callconv::analysis::IsaLevel::target_with_cpu(Target::from(target), &cpu).map(ExTarget::from)
}

/// Functions as name and arity.
type Functions = Vec<(String, u32)>;
/// `{module, functions, declared}`.
type BeamNifs = (String, Functions, Option<Functions>);

/// What a `.beam` file's code says of its NIFs: `{module, functions, declared}`, with
/// `declared` nil when the module declares none. Walking a large module's code takes more
/// than 1 ms.
#[rustler::nif(schedule = "DirtyCpu")]
fn beam_nifs(bytes: Binary) -> Result<BeamNifs, String> {
    callconv::beam::read_nifs(bytes.as_slice()).map(|b| (b.module, b.functions, b.declared))
}

/// The glibc version of this process (the VM's), if it runs on glibc.
#[rustler::nif]
fn host_libc_version() -> Option<String> {
    callconv::inspect::libc::host_glibc_version()
}

/// The convention model, optionally for one architecture.
#[rustler::nif]
fn conventions(arch: Option<String>) -> Vec<terms::ExConvention> {
    match arch {
        Some(a) => callconv::conventions::for_arch(&a)
            .map(terms::ExConvention::from)
            .collect(),
        None => callconv::conventions::all()
            .iter()
            .map(terms::ExConvention::from)
            .collect(),
    }
}

/// The convention chart as `"table"`, `"markdown"` or `"json"`.
#[rustler::nif]
fn conventions_chart(arch: Option<String>, format: String) -> NifResult<String> {
    let arch = arch.as_deref();
    match format.as_str() {
        "table" => Ok(callconv::conventions::render_table(arch)),
        "markdown" => Ok(callconv::conventions::render_markdown(arch)),
        "json" => Ok(callconv::conventions::to_json_for(arch)),
        _ => Err(rustler::Error::BadArg),
    }
}

rustler::init!("Elixir.Callconv.Native");
