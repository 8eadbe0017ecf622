//! SARIF 2.1.0: the document as a static-analysis log for code-scanning upload (GitHub code
//! scanning, Azure DevOps, VS Code's SARIF viewer).
//!
//! One run; the tool's rules are the rule catalogue (with the rules the Elixir side and the
//! unreadable-file path raise), each result names its rule by id and index, and its location is the library
//! file, relative to the project root (`uriBaseId` `SRCROOT`) when it lies inside it.
//!
//! The layout is built with `serde_json` rather than a SARIF crate: `serde-sarif` 0.8 would add
//! 21 crates (among them two more `syn` major versions and a build-time schema compiler) to
//! the build of every user, for the dozen objects written here. The tests validate the output
//! against the official SARIF 2.1.0 JSON schema instead.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::location::{file_uri, relative, uri_encode};
use crate::report::{Document, Finding};
use crate::rules::{self, Severity, CATALOGUE};

/// The `$schema` written into the log.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF level for a severity.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Every rule id the log can name, in the order of the tool's `rules` array.
fn rule_ids() -> Vec<(&'static str, Severity, &'static str, &'static str)> {
    CATALOGUE
        .iter()
        .map(|r| (r.id, r.severity, r.summary, r.fix))
        .collect()
}

/// Renders the document as a SARIF 2.1.0 log (pretty-printed JSON).
///
/// `root` is the project root: libraries under it get a relative URI.
pub fn render(doc: &Document, root: Option<&str>) -> String {
    serde_json::to_string_pretty(&log(doc, root)).unwrap_or_else(|_| "{}".to_string())
}

/// The SARIF log as a JSON value.
pub fn log(doc: &Document, root: Option<&str>) -> Value {
    let rules = rule_ids();
    let descriptors: Vec<Value> = rules
        .iter()
        .map(|(id, severity, summary, fix)| {
            json!({
                "id": id,
                "name": pascal_case(id),
                "shortDescription": { "text": summary },
                "fullDescription": { "text": format!("{summary} Fix: {fix}") },
                "help": { "text": fix },
                "defaultConfiguration": { "level": level(*severity) },
                "properties": { "tags": ["native", "nif"] }
            })
        })
        .collect();
    let index_of = |id: &str| rules.iter().position(|r| r.0 == id);

    let mut artifacts = Vec::new();
    let mut results = Vec::new();
    for lib in &doc.libraries {
        let artifact = artifacts.len();
        let location = artifact_location(&lib.path, root, Some(artifact));
        artifacts.push(json!({
            "location": artifact_location(&lib.path, root, None),
            "hashes": { "sha-256": lib.sha256 },
            "roles": ["analysisTarget"],
            "properties": {
                "verdict": lib.verdict.as_str(),
                "kind": lib.kind.as_str(),
                "arch": lib.arch.as_str(),
                "nifModule": lib.nif.as_ref().map(|n| n.module.clone()),
            }
        }));
        for finding in &lib.findings {
            results.push(result(
                finding,
                &location,
                &lib.path,
                index_of(&finding.rule),
            ));
        }
    }
    for err in &doc.errors {
        let unreadable = &rules::LIBRARY_UNREADABLE;
        let finding =
            unreadable.finding(format!("{} ({})", err.message, err.reason), unreadable.fix);
        let location = artifact_location(&err.path, root, None);
        results.push(result(
            &finding,
            &location,
            &err.path,
            index_of(unreadable.id),
        ));
    }

    let mut run = Map::new();
    run.insert(
        "tool".into(),
        json!({
            "driver": {
                "name": "callconv",
                "semanticVersion": doc.callconv,
                "version": doc.callconv,
                "informationUri": "https://hex.pm/packages/callconv",
                "rules": descriptors
            }
        }),
    );
    if let Some(root) = root {
        let mut uri = file_uri(root);
        if !uri.ends_with('/') {
            uri.push('/');
        }
        run.insert(
            "originalUriBaseIds".into(),
            json!({ "SRCROOT": { "uri": uri } }),
        );
    }
    run.insert("artifacts".into(), Value::Array(artifacts));
    run.insert("results".into(), Value::Array(results));
    run.insert(
        "invocations".into(),
        json!([{ "executionSuccessful": true }]),
    );
    run.insert(
        "properties".into(),
        json!({
            "target": doc.target,
            "summary": doc.summary,
            "callconvSchema": doc.schema
        }),
    );

    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [Value::Object(run)]
    })
}

fn result(finding: &Finding, location: &Value, path: &str, rule_index: Option<usize>) -> Value {
    let mut result = Map::new();
    result.insert("ruleId".into(), json!(finding.rule));
    if let Some(i) = rule_index {
        result.insert("ruleIndex".into(), json!(i));
    }
    result.insert("level".into(), json!(level(finding.severity)));
    result.insert(
        "message".into(),
        json!({ "text": format!("{}\nFix: {}", finding.message, finding.hint) }),
    );
    result.insert(
        "locations".into(),
        json!([{ "physicalLocation": { "artifactLocation": location } }]),
    );
    let mut hasher = Sha256::new();
    hasher.update(finding.rule.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    result.insert(
        "partialFingerprints".into(),
        json!({ "callconvFinding/v1": hex }),
    );
    Value::Object(result)
}

/// `{uri, uriBaseId?, index?}` for a library path.
fn artifact_location(path: &str, root: Option<&str>, index: Option<usize>) -> Value {
    let mut loc = Map::new();
    match relative(path, root) {
        Some(rel) => {
            loc.insert("uri".into(), json!(uri_encode(&rel)));
            if root.is_some() {
                loc.insert("uriBaseId".into(), json!("SRCROOT"));
            }
        }
        None => {
            loc.insert("uri".into(), json!(file_uri(path)));
        }
    }
    if let Some(i) = index {
        loc.insert("index".into(), json!(i));
    }
    Value::Object(loc)
}

/// `nif-version-too-new` → `NifVersionTooNew` (SARIF's `name` is an identifier-like label).
fn pascal_case(id: &str) -> String {
    id.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::LibraryError;
    use crate::target::Target;

    fn doc() -> Document {
        Document::new(
            Target::host(),
            vec![],
            vec![LibraryError {
                path: "/root/proj/priv/a b.so".into(),
                reason: "malformed".into(),
                message: "could not parse".into(),
            }],
        )
    }

    #[test]
    fn unreadable_library_is_an_error_result_with_a_relative_uri() {
        let log = log(&doc(), Some("/root/proj"));
        let run = &log["runs"][0];
        assert_eq!(log["version"], "2.1.0");
        let result = &run["results"][0];
        assert_eq!(result["ruleId"], "library-unreadable");
        assert_eq!(result["level"], "error");
        let loc = &result["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(loc["uri"], "priv/a%20b.so");
        assert_eq!(loc["uriBaseId"], "SRCROOT");
        assert_eq!(
            run["originalUriBaseIds"]["SRCROOT"]["uri"],
            "file:///root/proj/"
        );
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            run["tool"]["driver"]["rules"][index]["id"],
            "library-unreadable"
        );
    }

    #[test]
    fn every_catalogue_rule_is_described() {
        let log = log(&doc(), None);
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(rules, CATALOGUE.len());
        assert_eq!(pascal_case("nif-version-too-new"), "NifVersionTooNew");
    }
}
