//! The window may do only what ARCHITECTURE.md documents, each permission with its reason: a
//! permission added to a capability file without a line in that table fails here.

use std::collections::BTreeSet;
use std::path::Path;

fn documented() -> BTreeSet<String> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ARCHITECTURE.md"))
            .expect("ARCHITECTURE.md");
    let section = doc
        .split("## Window permissions")
        .nth(1)
        .expect("ARCHITECTURE.md has a 'Window permissions' section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|line| {
            let cell = line.strip_prefix("| `")?;
            let (permission, why) = cell.split_once("` |")?;
            assert!(
                why.trim().trim_end_matches('|').trim().len() > 10,
                "{permission} is listed without a reason"
            );
            Some(permission.to_owned())
        })
        .collect()
}

fn granted() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("capabilities");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("capabilities folder") {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        for p in json["permissions"].as_array().expect("a permissions list") {
            // A permission is a name, or an object with an identifier and scopes.
            let name = p
                .as_str()
                .or_else(|| p["identifier"].as_str())
                .expect("a permission name");
            out.insert(name.to_owned());
        }
    }
    out
}

#[test]
fn capabilities_grant_exactly_the_documented_permissions() {
    let documented = documented();
    let granted = granted();
    assert!(!documented.is_empty(), "no permission table found");
    let undocumented: Vec<_> = granted.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "granted but not documented in ARCHITECTURE.md: {undocumented:?}"
    );
    let stale: Vec<_> = documented.difference(&granted).collect();
    assert!(
        stale.is_empty(),
        "documented but not granted (remove the line): {stale:?}"
    );
}
