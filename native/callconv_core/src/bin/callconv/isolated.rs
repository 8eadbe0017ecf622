//! `callconv isolated [OPTIONS] PATH`: one check in this separate process, for the VM's
//! `isolation: :process` option. The result is written to stdout in Erlang's external term
//! format, so the VM reads it with `binary_to_term(_, [safe])` (Elixir 1.14 has no JSON).
//!
//! Options carry the whole target, so both ways give the same report:
//! `--source S --otp N --erts-version V --nif-version X.Y --arch A --os O --bits B
//! --endian E --libc L --libc-version V --abi-variant V --enif-exports a,b,c --module M
//! --function name/arity (repeatable) --probe-exe PATH --root DIR --exports`.

use std::path::PathBuf;

use callconv::report::{Arch, Endian};
use callconv::target::{Target, TargetSource};
use serde_json::{json, Value};

/// Runs the check and returns the encoded term: `%{"ok" => report}` or
/// `%{"error" => %{"reason", "path", "message"}}`.
pub fn run(args: &[String]) -> Result<Vec<u8>, String> {
    let mut target = Target::host();
    let mut options = callconv::Options::new(target.clone());
    let mut path = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = || {
            iter.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        let some = |v: String| (!v.is_empty()).then_some(v);
        match arg.as_str() {
            "--source" => {
                target.source = TargetSource::parse(&value()?).unwrap_or(TargetSource::Explicit)
            }
            "--otp" => target.otp_release = some(value()?),
            "--erts-version" => target.erts_version = some(value()?),
            "--nif-version" => target.nif_version = some(value()?),
            "--arch" => target.arch = Arch::parse(&value()?),
            "--os" => target.os = value()?,
            "--bits" => target.bits = value()?.parse().map_err(|_| "--bits takes a number")?,
            "--endian" => {
                target.endian = if value()? == "big" {
                    Endian::Big
                } else {
                    Endian::Little
                }
            }
            "--libc" => target.libc = some(value()?),
            "--libc-version" => target.libc_version = some(value()?),
            "--abi-variant" => target.abi_variant = some(value()?),
            "--enif-exports" => {
                target.enif_exports = Some(
                    value()?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                )
            }
            // One name per line, as the Elixir target holds them.
            "--vm-exports" => target.vm_exports = some(value()?),
            "--vm-bind-now" => target.vm_bind_now = Some(value()? == "true"),
            "--module" => options.module = Some(value()?),
            "--function" => {
                let v = value()?;
                let (name, arity) = v
                    .rsplit_once('/')
                    .and_then(|(n, a)| Some((n.to_string(), a.parse().ok()?)))
                    .ok_or_else(|| format!("--function takes name/arity, got {v:?}"))?;
                options
                    .functions
                    .get_or_insert_with(Vec::new)
                    .push((name, arity));
            }
            "--probe-exe" => options.probe = Some(PathBuf::from(value()?)),
            "--root" => options.root = Some(PathBuf::from(value()?)),
            "--exports" => options.analyse = callconv::check::Analyse::Exports,
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            p => path = Some(p.to_string()),
        }
    }
    let path = path.ok_or("no PATH given")?;
    let module = options.module.take();
    let functions = options.functions.take();
    let probe = options.probe.take();
    let root = options.root.take();
    let options = callconv::Options {
        module,
        functions,
        probe,
        root,
        analyse: options.analyse,
        ..callconv::Options::new(target)
    };
    let result = match callconv::check_path_with(std::path::Path::new(&path), &options) {
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
