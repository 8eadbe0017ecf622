//! Rendering reports that Elixir holds (after its policy: ignored rules, strictness, lockfile
//! findings) in any output format, and the rule catalogue. Glue only: terms are turned into
//! JSON values shaped like the structs' fields and handed to the core.

use rustler::types::map::MapIterator;
use rustler::{Error, NifMap, NifResult, Term, TermType};

use callconv::render::Value;
use callconv::target::Target;

use crate::terms::ExTarget;

/// Deep enough for a report (report → nif → functions → function); guards against cycles
/// in nothing, but bounds the recursion on whatever a caller passes.
const MAX_DEPTH: u32 = 16;

fn bad(why: &str) -> Error {
    Error::RaiseTerm(Box::new(format!("callconv: cannot render: {why}")))
}

/// A term as a JSON value: atoms become strings (`nil`, `true`, `false` as JSON), structs
/// and maps objects without `__struct__`, lists and tuples arrays.
fn to_value(term: Term, depth: u32) -> NifResult<Value> {
    if depth > MAX_DEPTH {
        return Err(bad("nested too deeply"));
    }
    Ok(match term.get_type() {
        TermType::Atom => match term.atom_to_string()?.as_str() {
            "nil" => Value::Null,
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.to_string()),
        },
        TermType::Binary => {
            let bin = term.decode_as_binary()?;
            Value::String(String::from_utf8_lossy(bin.as_slice()).into_owned())
        }
        TermType::Integer => match term.decode::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => Value::from(term.decode::<u64>()?),
        },
        TermType::Float => Value::from(term.decode::<f64>()?),
        TermType::List => Value::Array(
            term.into_list_iterator()?
                .map(|t| to_value(t, depth + 1))
                .collect::<NifResult<_>>()?,
        ),
        TermType::Tuple => Value::Array(
            rustler::types::tuple::get_tuple(term)?
                .into_iter()
                .map(|t| to_value(t, depth + 1))
                .collect::<NifResult<_>>()?,
        ),
        TermType::Map => {
            let mut object = Vec::new();
            for (k, v) in MapIterator::new(term).ok_or_else(|| bad("not a map"))? {
                let key = match k.get_type() {
                    TermType::Atom => k.atom_to_string()?,
                    TermType::Binary => {
                        String::from_utf8_lossy(k.decode_as_binary()?.as_slice()).into_owned()
                    }
                    _ => return Err(bad("map keys must be atoms or strings")),
                };
                if key != "__struct__" {
                    object.push((key, to_value(v, depth + 1)?));
                }
            }
            Value::Object(object.into_iter().collect())
        }
        _ => return Err(bad("unsupported term")),
    })
}

/// Renders `%Callconv.Report{}`s and `%Callconv.Error{}`s checked against `target` as
/// `"text"`, `"json"`, `"sarif"` or `"github"`. `root` is the project root for relative paths.
/// Returns `{output, checked, passed, warned, failed}`.
#[rustler::nif(schedule = "DirtyCpu")]
fn render_document<'a>(
    env: rustler::Env<'a>,
    libraries: Vec<Term<'a>>,
    errors: Vec<Term<'a>>,
    target: ExTarget,
    format: String,
    root: Option<String>,
    verbose: bool,
) -> NifResult<Term<'a>> {
    let libraries = libraries
        .into_iter()
        .map(|t| to_value(t, 0))
        .collect::<NifResult<Vec<_>>>()?;
    let errors = errors
        .into_iter()
        .map(|t| to_value(t, 0))
        .collect::<NifResult<Vec<_>>>()?;
    let doc = callconv::render::document_from_values(Target::from(target), libraries, errors)
        .map_err(|e| bad(&e))?;
    let output =
        callconv::render::render(&doc, &format, root.as_deref(), verbose).ok_or(Error::BadArg)?;
    let s = doc.summary;
    Ok(rustler::Encoder::encode(
        &(output, s.checked, s.passed, s.warned, s.failed),
        env,
    ))
}

/// One rule of the catalogue.
#[derive(NifMap)]
#[rustler(encode)]
pub struct ExRule {
    id: &'static str,
    severity: crate::terms::Name,
    summary: &'static str,
    fix: &'static str,
}

/// The rule catalogue (its last rules are raised outside the core: unreadable files, lockfile).
#[rustler::nif]
fn rules() -> Vec<ExRule> {
    callconv::rules::CATALOGUE
        .iter()
        .map(|r| ExRule {
            id: r.id,
            severity: crate::terms::Name(r.severity.as_str()),
            summary: r.summary,
            fix: r.fix,
        })
        .collect()
}

/// SHA-256 of a file, lowercase hex, read the way a check reads it (regular files only).
#[rustler::nif(schedule = "DirtyIo")]
fn file_sha256(path: rustler::Binary) -> Result<String, crate::terms::ExError> {
    let path = crate::path_of(&path);
    let opened = callconv::source::open(&path)?;
    Ok(callconv::source::sha256_file(
        &path,
        &opened.file,
        opened.len,
    )?)
}
