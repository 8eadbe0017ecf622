//! `callconv isolated [OPTIONS] PATH`: one check in this separate process, for the VM's
//! `isolation: :process` option. The result is written to stdout in Erlang's external term
//! format, so the VM reads it with `binary_to_term(_, [safe])` (Elixir 1.14 has no JSON).
//!
//! Options carry the whole target, so both ways give the same report:
//! `--source S --otp N --erts-version V --nif-version X.Y --arch A --os O --bits B
//! --endian E --libc L --libc-version V --abi-variant V --os-version V --enif-exports a,b,c --module M
//! --function name/arity (repeatable) --declared-nif name/arity (repeatable) --probe-exe PATH --probe-unsandboxed --root DIR --exports`.

use std::path::PathBuf;

use callconv::report::{Arch, Endian};
use callconv::target::{Target, TargetSource};
use clap::Args;
use serde_json::{json, Value};

/// The options, as `Callconv.Isolated` passes them. An empty value means "not known"; values
/// may begin with `-` (they are data, such as a list of exported names).
#[derive(Args)]
pub struct IsolatedArgs {
    /// The library
    path: PathBuf,
    #[arg(long, allow_hyphen_values = true)]
    source: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    otp: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    erts_version: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    nif_version: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    arch: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    os: Option<String>,
    #[arg(long)]
    bits: Option<u32>,
    #[arg(long, allow_hyphen_values = true)]
    endian: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    libc: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    libc_version: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    abi_variant: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    os_version: Option<String>,
    /// Comma-separated `enif_*` names
    #[arg(long, allow_hyphen_values = true)]
    enif_exports: Option<String>,
    /// One name per line, as the Elixir target holds them
    #[arg(long, allow_hyphen_values = true)]
    vm_exports: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    vm_bind_now: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    module: Option<String>,
    /// name/arity; repeatable
    #[arg(long = "function", allow_hyphen_values = true, value_parser = parse_function)]
    functions: Vec<(String, u32)>,
    /// A function the module declares as a NIF (-nifs), name/arity; repeatable
    #[arg(long = "declared-nif", allow_hyphen_values = true, value_parser = parse_function)]
    declared_nifs: Vec<(String, u32)>,
    #[arg(long)]
    probe_exe: Option<PathBuf>,
    #[arg(long)]
    probe_unsandboxed: bool,
    #[arg(long)]
    root: Option<PathBuf>,
    /// Every exported function against the platform's C conventions, not the NIF
    #[arg(long)]
    exports: bool,
}

fn parse_function(v: &str) -> Result<(String, u32), String> {
    v.rsplit_once('/')
        .and_then(|(n, a)| Some((n.to_string(), a.parse().ok()?)))
        .ok_or_else(|| format!("takes name/arity, got {v:?}"))
}

/// Runs the check and returns the encoded term: `%{"ok" => report}` or
/// `%{"error" => %{"reason", "path", "message"}}`.
pub fn run(args: IsolatedArgs) -> Result<Vec<u8>, String> {
    let some = |v: Option<String>| v.filter(|v| !v.is_empty());
    let mut target = Target::host();
    if let Some(source) = args.source {
        target.source = TargetSource::parse(&source).unwrap_or(TargetSource::Explicit);
    }
    target.otp_release = some(args.otp);
    target.erts_version = some(args.erts_version);
    target.nif_version = some(args.nif_version);
    if let Some(arch) = args.arch {
        target.arch = Arch::parse(&arch);
    }
    if let Some(os) = args.os {
        target.os = os;
    }
    if let Some(bits) = args.bits {
        target.bits = bits;
    }
    if let Some(endian) = args.endian {
        target.endian = if endian == "big" {
            Endian::Big
        } else {
            Endian::Little
        };
    }
    target.libc = some(args.libc);
    target.libc_version = some(args.libc_version);
    target.abi_variant = some(args.abi_variant);
    target.os_version = some(args.os_version);
    if let Some(names) = args.enif_exports {
        target.enif_exports = Some(
            names
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        );
    }
    target.vm_exports = some(args.vm_exports);
    if let Some(v) = args.vm_bind_now {
        target.vm_bind_now = Some(v == "true");
    }
    let path = args.path;
    let options = callconv::Options {
        module: args.module,
        functions: (!args.functions.is_empty()).then_some(args.functions),
        declared_nifs: (!args.declared_nifs.is_empty()).then_some(args.declared_nifs),
        probe: args.probe_exe,
        probe_confinement: if args.probe_unsandboxed {
            callconv::probe::Confinement::Unsandboxed
        } else {
            callconv::probe::Confinement::Sandboxed
        },
        root: args.root,
        analyse: if args.exports {
            callconv::check::Analyse::Exports
        } else {
            callconv::check::Analyse::Nif
        },
        ..callconv::Options::new(target)
    };
    let result = match callconv::check_path_with(&path, &options) {
        Ok(report) => json!({ "ok": report }),
        Err(e) => json!({ "error": {
            "reason": e.reason(),
            "path": e.path().to_string_lossy(),
            "message": e.to_string(),
        }}),
    };
    let mut out = vec![131];
    encode(&result, &mut out);
    Ok(out)
}

/// Encodes a JSON value as an external term: objects as maps with binary keys, strings as
/// binaries, arrays as lists, null/true/false as atoms. No atom is made from file contents.
fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => atom("nil", out),
        Value::Bool(b) => atom(if *b { "true" } else { "false" }, out),
        Value::Number(n) => {
            if let Some(i) = n.as_i64().and_then(|i| i32::try_from(i).ok()) {
                out.push(98);
                out.extend_from_slice(&i.to_be_bytes());
            } else if let Some(u) = n.as_u64() {
                big(u, false, out);
            } else if let Some(i) = n.as_i64() {
                big(i.unsigned_abs(), i < 0, out);
            } else {
                out.push(70);
                out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_be_bytes());
            }
        }
        Value::String(s) => binary(s.as_bytes(), out),
        Value::Array(items) => {
            if !items.is_empty() {
                out.push(108);
                out.extend_from_slice(&(items.len() as u32).to_be_bytes());
                for item in items {
                    encode(item, out);
                }
            }
            out.push(106);
        }
        Value::Object(map) => {
            out.push(116);
            out.extend_from_slice(&(map.len() as u32).to_be_bytes());
            for (k, v) in map {
                binary(k.as_bytes(), out);
                encode(v, out);
            }
        }
    }
}

fn atom(name: &str, out: &mut Vec<u8>) {
    out.push(119);
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
}

fn binary(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(109);
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// SMALL_BIG_EXT: little-endian digits.
fn big(mut u: u64, negative: bool, out: &mut Vec<u8>) {
    let mut digits = Vec::new();
    while u > 0 {
        digits.push((u & 0xff) as u8);
        u >>= 8;
    }
    out.push(110);
    out.push(digits.len() as u8);
    out.push(u8::from(negative));
    out.extend_from_slice(&digits);
}
