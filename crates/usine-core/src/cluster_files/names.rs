//! Names on a cluster are bytes, not text: a file may be called `caf\xe9.csv` (Latin-1), hold a
//! newline or start with a dash. The UI and the CLI carry paths as JSON strings, so every path
//! crosses as text that maps back to the exact bytes: each byte that is not part of valid UTF-8
//! is written as the private-use character U+F700 + byte (U+F780–U+F7FF), and a real character
//! of that range is written byte by byte the same way, so the mapping is one-to-one. What a
//! person reads is [`shown`]: those bytes as `\xNN`, and control characters escaped.

const ESCAPE_BASE: u32 = 0xF700;

fn escaped(c: char) -> bool {
    (0xF780..=0xF7FF).contains(&(c as u32))
}

/// The text that carries `bytes` losslessly (see the module's comment).
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if escaped(c) {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push(byte_char(b));
                }
            } else {
                out.push(c);
            }
        }
        for &b in chunk.invalid() {
            out.push(byte_char(b));
        }
    }
    out
}

/// The bytes `text` carries ([`encode`]'s inverse).
pub fn decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if escaped(c) {
            // In range by the test above: 0x80..=0xFF.
            out.push((c as u32 - ESCAPE_BASE) as u8);
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    out
}

fn byte_char(b: u8) -> char {
    // Only bytes ≥ 0x80 are ever escaped (ASCII is always valid UTF-8), so this is in range.
    char::from_u32(ESCAPE_BASE + u32::from(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// How a person reads `bytes`: text as it is, bytes that are not text as `\xNN`, and newlines,
/// tabs and other control characters escaped so that a name stays on one line.
pub fn shown(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\\' => out.push('\\'),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The name on this computer of a name carried as text ([`encode`]): its exact bytes where
/// names are bytes (Linux); elsewhere (macOS and Windows take only text) the text it stands
/// for, or the carrying text itself when those bytes are not text.
pub fn here(text: &str) -> std::ffi::OsString {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        use std::os::unix::ffi::OsStringExt;
        std::ffi::OsString::from_vec(decode(text))
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    {
        String::from_utf8(decode(text)).map_or_else(|_| text.into(), Into::into)
    }
}

/// How a name of this computer is carried as text (the inverse of [`here`]): its bytes
/// [`encode`]d where names are bytes (Unix), else its text.
pub fn of_here(name: &std::ffi::OsStr) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Some(encode(name.as_bytes()))
    }
    #[cfg(not(unix))]
    {
        name.to_str().map(|n| encode(n.as_bytes()))
    }
}

/// Where the cluster path `rel` (relative, carried as text) is under the folder `root` here:
/// each part as [`here`] names it.
pub fn under(root: &std::path::Path, rel: &str) -> std::path::PathBuf {
    rel.split('/')
        .filter(|p| !p.is_empty())
        .fold(root.to_owned(), |path, part| path.join(here(part)))
}

/// `folder/name`, byte for byte.
pub fn join(folder: &[u8], name: &[u8]) -> Vec<u8> {
    let mut path = folder.to_vec();
    if !path.ends_with(b"/") {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

/// The folder that holds `path` (`/` for `/` itself), byte for byte.
pub fn parent(path: &[u8]) -> Vec<u8> {
    let trimmed = trim_slashes(path);
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(0) | None => b"/".to_vec(),
        Some(i) => trimmed[..i].to_vec(),
    }
}

/// The last component of `path`.
pub fn last(path: &[u8]) -> &[u8] {
    let trimmed = trim_slashes(path);
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

fn trim_slashes(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
}

/// Whether `name` can be one entry's new name: not empty, no `/`, not `.` or `..`, no NUL.
pub fn is_single_name(name: &[u8]) -> bool {
    !name.is_empty() && name != b"." && name != b".." && !name.contains(&b'/') && !name.contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_names_cross_unchanged_and_latin1_bytes_are_escaped() {
        assert_eq!(encode("données 1.csv".as_bytes()), "données 1.csv");
        let latin1 = b"caf\xe9.csv";
        let wire = encode(latin1);
        assert_eq!(wire, "caf\u{F7E9}.csv");
        assert_eq!(decode(&wire), latin1);
        assert_eq!(shown(latin1), "caf\\xe9.csv");
        assert_eq!(shown(b"two\nlines\t-x"), "two\\nlines\\t-x");
    }

    #[test]
    fn a_real_private_use_character_of_the_escape_range_survives() {
        let name = "odd\u{F7E9}".as_bytes();
        assert_eq!(decode(&encode(name)), name);
        assert_ne!(encode(name), "odd\u{F7E9}");
    }

    #[test]
    fn parents_and_last_names() {
        assert_eq!(parent(b"/home/alice/x/"), b"/home/alice");
        assert_eq!(parent(b"/home"), b"/");
        assert_eq!(parent(b"/"), b"/");
        assert_eq!(last(b"/home/alice/x/"), b"x");
        assert_eq!(join(b"/", b"home"), b"/home");
        assert!(!is_single_name(b"a/b") && !is_single_name(b"..") && !is_single_name(b""));
        assert!(is_single_name(b"-rf \n"));
    }

    proptest! {
        #[test]
        fn every_byte_string_maps_back_to_itself(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(decode(&encode(&bytes)), bytes.clone());
            let shown = shown(&bytes);
            prop_assert!(!shown.contains('\n'));
        }
    }
}
