//! Paths a person types for this computer: `~` (alone or as `~/…`) is their home, as a shell
//! and `scp` read it. Without this, `~/datasets/cats` was "not a folder Usine can read" and
//! results "brought back into ~/results" landed in a folder named `~`.

use std::path::{Path, PathBuf};

/// `path` with a leading `~` replaced by this computer's home folder; anything else unchanged.
pub fn expand(path: &Path) -> PathBuf {
    let Some(text) = path.to_str() else {
        return path.to_owned();
    };
    let rest = match text.strip_prefix('~') {
        Some("") => "",
        Some(rest) if rest.starts_with('/') || rest.starts_with(std::path::MAIN_SEPARATOR) => {
            &rest[1..]
        }
        _ => return path.to_owned(),
    };
    match std::env::home_dir() {
        Some(home) if rest.is_empty() => home,
        Some(home) => home.join(rest),
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_tilde_is_the_home() {
        let home = std::env::home_dir().unwrap();
        assert_eq!(expand(Path::new("~")), home);
        assert_eq!(
            expand(Path::new("~/datasets/cats")),
            home.join("datasets/cats")
        );
        assert_eq!(expand(Path::new("/data/~x")), PathBuf::from("/data/~x"));
        assert_eq!(expand(Path::new("~bob/x")), PathBuf::from("~bob/x"));
        assert_eq!(expand(Path::new("rel/~")), PathBuf::from("rel/~"));
    }
}
