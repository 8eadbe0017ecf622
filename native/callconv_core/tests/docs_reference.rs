//! The reference pages under `docs/reference/` are generated from the code, so they cannot
//! drift from it: the rule catalogue from `rules::CATALOGUE` (whoever emits each rule), and the
//! JSON report's key list from documents the serializer writes for committed fixtures. Each
//! test renders its page and compares it with the committed file; `UPDATE_DOCS=1` rewrites it.
//!
//! The last test checks that every relative link of the README, the guides and the docs
//! resolves to a file, and every `#anchor` to a heading of that file.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use callconv::check::{Analyse, Options};
use callconv::rules::{Emitter, Severity, CATALOGUE};
use callconv::target::{Target, TargetSource};

const UPDATE: &str = "run `UPDATE_DOCS=1 cargo test -p callconv_core --test docs_reference`";

/// Compares `rendered` with the committed file, or rewrites it under `UPDATE_DOCS=1`.
fn compare_or_update(relative: &str, rendered: &str) {
    let path = common::repo().join(relative);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, rendered).unwrap_or_else(|e| panic!("write {relative}: {e}"));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != rendered {
        let line = committed
            .lines()
            .zip(rendered.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(rendered.lines().count()));
        panic!(
            "{relative} is not what the code generates (first difference at line {}): {UPDATE}",
            line + 1
        );
    }
}

/// Text from the code, made safe for a markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('*', "\\*")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn severity(s: Severity) -> &'static str {
    s.as_str()
}

fn rules_markdown() -> String {
    let mut out = String::from(
        "# Rule catalogue\n\n\
         <!-- Generated from native/callconv_core/src/rules/ (CATALOGUE) by\n\
         \x20    native/callconv_core/tests/docs_reference.rs. Do not edit: change the code, then\n\
         \x20    UPDATE_DOCS=1 cargo test -p callconv_core --test docs_reference -->\n\n\
         Every finding callconv reports names one of these rules. Rule ids are stable kebab-case;\n\
         the severity is the default, and a rule may raise or lower it where its text says.\n\
         `error` means the library will not load, or will crash or corrupt the VM; `warning` that\n\
         it loads but something is risky or could not be verified; `info` is worth knowing, with\n\
         nothing to fix. `--strict` makes warnings fail; `--ignore RULE[:GLOB]` drops a rule's\n\
         findings.\n\n\
         The NIF rules follow the order of the BEAM's own checks (`erts_load_nif`): when the\n\
         version is refused, the BEAM never reads the module name or the function table, and\n\
         neither does callconv. `not-a-nif` is information in a scan (drivers and helper\n\
         libraries are fine there) and an error when `module:` says the library is about to be\n\
         given to `load_nif`. What the BEAM checks, and the messages it gives, are in\n\
         [the BEAM facts](../design/beam-facts.md).\n\n\
         | rule | severity | cause | fix |\n|---|---|---|---|\n",
    );
    for rule in CATALOGUE.iter().filter(|r| r.emitter == Emitter::Check) {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            rule.id,
            severity(rule.severity),
            cell(rule.summary),
            cell(rule.fix)
        ));
    }
    out.push_str(
        "\n## Rules raised outside the core's checks\n\n\
         An unreadable file (in SARIF, GitHub annotations and the guard's messages), and the\n\
         lockfile comparison that the Elixir side does (`mix callconv.check --locked`, the\n\
         guard's `lockfile:`).\n\n\
         | rule | severity | cause | fix |\n|---|---|---|---|\n",
    );
    for rule in CATALOGUE.iter().filter(|r| r.emitter != Emitter::Check) {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            rule.id,
            severity(rule.severity),
            cell(rule.summary),
            cell(rule.fix)
        ));
    }
    out
}

#[test]
fn rules_reference_is_generated_from_the_catalogue() {
    // Everything above the marker is generated; the notes below it are hand-written, and may
    // name only rules that exist.
    let relative = "docs/reference/rules.md";
    let committed = std::fs::read_to_string(common::repo().join(relative)).unwrap_or_default();
    let notes = committed
        .find(RULES_END)
        .map(|at| &committed[at + RULES_END.len()..])
        .unwrap_or("");
    compare_or_update(relative, &format!("{}{RULES_END}{notes}", rules_markdown()));

    let known: BTreeSet<&str> = CATALOGUE.iter().map(|r| r.id).collect();
    let mut unknown = BTreeSet::new();
    for line in notes.lines().filter(|l| l.starts_with("* `")) {
        let id = line
            .trim_start_matches("* `")
            .split('`')
            .next()
            .unwrap_or("");
        if !known.contains(id) {
            unknown.insert(id.to_string());
        }
    }
    assert!(
        unknown.is_empty(),
        "{relative}'s notes name rules the catalogue lacks: {unknown:?}"
    );
}

const RULES_END: &str = "<!-- END GENERATED RULES -->\n";

// ----- the report schema's key list

/// The JSON type names of a value, as the table spells them.
fn type_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Records every key path of `v` (arrays as `[]`, map keys that are data as `*`) with the
/// types seen there.
fn walk(path: &str, v: &serde_json::Value, keys: &mut BTreeMap<String, BTreeSet<&'static str>>) {
    keys.entry(path.to_string()).or_default().insert(type_of(v));
    match v {
        serde_json::Value::Object(map) => {
            // `matched` counts functions per convention id: its keys are data, not schema.
            let data_keys = path.ends_with(".matched");
            for (k, child) in map {
                let key = if data_keys { "*" } else { k.as_str() };
                walk(&format!("{path}.{key}"), child, keys);
            }
        }
        serde_json::Value::Array(items) => {
            for child in items {
                walk(&format!("{path}[]"), child, keys);
            }
        }
        _ => {}
    }
}

fn fixture(relative: &str) -> PathBuf {
    common::repo().join("test/fixtures").join(relative)
}

fn target(triple: &str) -> Target {
    Target {
        source: TargetSource::Explicit,
        otp_release: Some("25".into()),
        erts_version: Some("13.1.5".into()),
        nif_version: Some("2.16".into()),
        ..Target::host()
    }
    .for_triple(triple)
    .expect("a known triple")
}

/// Documents for committed fixtures of every format and both modes, and one unreadable path.
fn sample_documents() -> Vec<serde_json::Value> {
    let nif = |triple: &str, files: &[&str]| {
        let options = Options::new(target(triple));
        let paths: Vec<PathBuf> = files.iter().map(|f| fixture(f)).collect();
        callconv::check_paths_with(&paths, &options)
    };
    let exports = Options {
        analyse: Analyse::Exports,
        ..Options::new(target("x86_64-unknown-linux-gnu"))
    };
    let docs = [
        nif(
            "x86_64-unknown-linux-gnu",
            &[
                "cross/x86_64-linux-gnu/hello_nif.so",
                "cross/x86_64-linux-gnu/cxx_nif.so",
                "analysis/out/good/x86_64-gcc-O2-omitfp-cet-ssp.so",
                "analysis/out/good/x86_64-gcc-O3-v3.so",
                "analysis/out/bad/x86_64-ms_abi.so",
                "does/not/exist.so",
            ],
        ),
        nif(
            "aarch64-unknown-linux-gnu",
            &["analysis/out/good/aarch64-clang-O2-bti-pac.so"],
        ),
        nif(
            "aarch64-apple-macosx13.0",
            &[
                "cross/universal-macos/hello_nif.so",
                "cross/aarch64-macos/hello_nif.so",
            ],
        ),
        nif(
            "x86_64-pc-windows-msvc",
            &["cross/x86_64-windows-gnu/hello_nif.dll"],
        ),
        callconv::check_paths_with(&[fixture("cross/x86_64-linux-gnu/libc_user.so")], &exports),
    ];
    docs.iter()
        .map(|d| serde_json::from_str(&d.to_json()).expect("the document is JSON"))
        .collect()
}

const SCHEMA_BEGIN: &str = "<!-- BEGIN GENERATED KEYS -->\n";
const SCHEMA_END: &str = "<!-- END GENERATED KEYS -->\n";

fn schema_keys_markdown() -> String {
    let mut keys = BTreeMap::new();
    for doc in sample_documents() {
        walk("", &doc, &mut keys);
    }
    let mut out = String::from(
        "<!-- Generated by native/callconv_core/tests/docs_reference.rs from the documents the\n\
         \x20    serializer writes for committed fixtures (ELF, Mach-O universal and thin, PE, the\n\
         \x20    exports mode, an unreadable path). Do not edit between these markers:\n\
         \x20    UPDATE_DOCS=1 cargo test -p callconv_core --test docs_reference -->\n\n\
         | key | JSON types seen |\n|---|---|\n",
    );
    for (path, types) in &keys {
        let Some(path) = path.strip_prefix('.') else {
            continue; // the document itself
        };
        let types: Vec<&str> = types.iter().copied().collect();
        out.push_str(&format!("| `{path}` | {} |\n", types.join(", ")));
    }
    out
}

#[test]
fn schema_reference_lists_every_key_the_serializer_writes() {
    let relative = "docs/reference/schema.md";
    let committed = std::fs::read_to_string(common::repo().join(relative))
        .unwrap_or_else(|e| panic!("read {relative}: {e}"));
    let (Some(begin), Some(end)) = (committed.find(SCHEMA_BEGIN), committed.find(SCHEMA_END))
    else {
        panic!("{relative} lacks the {SCHEMA_BEGIN:?} / {SCHEMA_END:?} markers");
    };
    let keys = schema_keys_markdown();
    let rendered = format!(
        "{}{SCHEMA_BEGIN}{keys}{}",
        &committed[..begin],
        &committed[end..]
    );
    compare_or_update(relative, &rendered);

    // The prose above the table explains every key by name (as `name` or "name").
    let prose = &committed[..begin];
    let mut unexplained = BTreeSet::new();
    for line in keys.lines().filter(|l| l.starts_with("| `")) {
        let path = line
            .trim_start_matches("| `")
            .split('`')
            .next()
            .unwrap_or("");
        let name = path
            .rsplit('.')
            .next()
            .unwrap_or(path)
            .trim_end_matches("[]");
        let explained =
            prose.contains(&format!("`{name}`")) || prose.contains(&format!("\"{name}\""));
        if name != "*" && !explained {
            unexplained.insert(name.to_string());
        }
    }
    assert!(
        unexplained.is_empty(),
        "{relative} does not explain the keys {unexplained:?}: add them to its prose"
    );
}

// ----- relative links

fn markdown_files() -> Vec<PathBuf> {
    let repo = common::repo();
    let mut out = vec![repo.join("README.md"), repo.join("bench/README.md")];
    let mut dirs = vec![repo.join("guides"), repo.join("docs")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces
/// made `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors_of(text: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// The targets of `](target)` links outside code blocks and spans.
fn links_of(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Drop inline code spans so that `a](b)` inside backticks is not taken for a link.
        let mut plain = String::new();
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                plain.push_str(part);
            }
        }
        let mut rest = plain.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            if let Some(end) = rest.find(')') {
                out.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
    }
    out
}

#[test]
fn every_relative_link_resolves() {
    let repo = common::repo();
    let mut broken = Vec::new();
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let dir = file.parent().unwrap();
        for link in links_of(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = match link.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (link.as_str(), None),
            };
            let target = if path.is_empty() {
                file.clone()
            } else {
                dir.join(path)
            };
            let shown = file
                .strip_prefix(&repo)
                .unwrap_or(&file)
                .display()
                .to_string();
            if !target.exists() {
                broken.push(format!("{shown}: {link} (no such file)"));
                continue;
            }
            if let Some(fragment) = fragment {
                let text = std::fs::read_to_string(&target).unwrap_or_default();
                if !anchors_of(&text).contains(fragment) {
                    broken.push(format!("{shown}: {link} (no such heading)"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// Every source tag a convention of the model cites (`[AAPCS64]`, ...) is named in the design
/// page that lists them, so the code points at something in the repository.
#[test]
fn every_convention_source_tag_is_listed() {
    let page = "docs/design/reading-a-library.md";
    let text = std::fs::read_to_string(common::repo().join(page)).unwrap();
    let mut missing = BTreeSet::new();
    for convention in callconv::conventions::all() {
        let mut rest = convention.source;
        while let Some(open) = rest.find('[') {
            rest = &rest[open..];
            let Some(close) = rest.find(']') else { break };
            let tag = &rest[..=close];
            if !text.contains(&format!("`{tag}`")) {
                missing.insert(tag.to_string());
            }
            rest = &rest[close + 1..];
        }
    }
    assert!(
        missing.is_empty(),
        "{page} does not list the source tags {missing:?}"
    );
}
