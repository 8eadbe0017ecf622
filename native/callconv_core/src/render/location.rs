//! Where a library is, as CI tools want it: relative to the project root when it is inside.

/// `path` relative to `root` when it lies under it (or is already relative), else `None`.
///
/// Both are compared as given; the Elixir side expands them first. A leading `./` is dropped.
pub fn relative(path: &str, root: Option<&str>) -> Option<String> {
    if !path.starts_with('/') && !is_windows_absolute(path) {
        return Some(path.trim_start_matches("./").to_string());
    }
    let root = root?.trim_end_matches('/');
    if root.is_empty() {
        return None;
    }
    path.strip_prefix(root)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|rest| !rest.is_empty())
        .map(str::to_string)
}

fn is_windows_absolute(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/')
}

/// Percent-encodes a path for use in a URI (RFC 3986): unreserved characters and `/` stay.
pub fn uri_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &byte in path.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A `file://` URI for an absolute path.
pub fn file_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    if path.starts_with('/') {
        format!("file://{}", uri_encode(&path))
    } else {
        format!("file:///{}", uri_encode(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative("/p/a/b.so", Some("/p")).as_deref(), Some("a/b.so"));
        assert_eq!(
            relative("/p/a/b.so", Some("/p/")).as_deref(),
            Some("a/b.so")
        );
        assert_eq!(relative("/pq/b.so", Some("/p")), None);
        assert_eq!(relative("/x/b.so", None), None);
        assert_eq!(relative("./a.so", None).as_deref(), Some("a.so"));
        assert_eq!(relative("C:\\x\\a.dll", Some("/p")), None);
    }

    #[test]
    fn uris() {
        assert_eq!(uri_encode("a b/c%.so"), "a%20b/c%25.so");
        assert_eq!(file_uri("/a b/c.so"), "file:///a%20b/c.so");
        assert_eq!(uri_encode("é"), "%C3%A9");
    }
}
