//! `callconv isolated --request JSON [--probe-exe PATH] [--root DIR] PATH`: one check in
//! this separate process, for the VM's `isolation: :process` option.
//!
//! The request is one `callconv::wire::CheckRequest` (the whole target and what to check),
//! the one Elixir passes to the NIF; the paths travel beside it as arguments, byte for byte.
//! The outcome is written to stdout as JSON, `{"ok": report}` or `{"error": {...}}`, the
//! report being the same bytes the NIF returns, so both ways decode alike.

use std::path::PathBuf;

use callconv::wire::{outcome_json, CheckRequest};
use clap::Args;

/// The options, as `Callconv.Isolated` passes them.
#[derive(Args)]
pub struct IsolatedArgs {
    /// The library
    path: PathBuf,
    /// The check request, as JSON
    #[arg(long, allow_hyphen_values = true)]
    request: String,
    /// callconv's command-line tool, to probe the library with
    #[arg(long)]
    probe_exe: Option<PathBuf>,
    /// The target's root directory
    #[arg(long)]
    root: Option<PathBuf>,
}

/// Runs the check and returns the outcome as JSON.
pub fn run(args: IsolatedArgs) -> Result<Vec<u8>, String> {
    let options =
        CheckRequest::from_json(args.request.as_bytes())?.into_options(args.probe_exe, args.root);
    Ok(outcome_json(&callconv::check_path_with(&args.path, &options)).into_bytes())
}
