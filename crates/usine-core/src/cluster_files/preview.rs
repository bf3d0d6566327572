//! What a file's first bytes look like to a person: text, a table (CSV/TSV heads), an image,
//! or "not something to show". Pure: the bytes come from the cluster's `head`.

use serde::Serialize;
use ts_rs::TS;

/// How much of a text file is shown.
pub const TEXT_BYTES: u64 = 64 * 1024;
/// The largest image shown (it is read whole).
pub const IMAGE_BYTES: u64 = 8 * 1024 * 1024;
/// Rows of a table shown.
const TABLE_ROWS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[ts(rename = "FilePreview")]
pub enum Preview {
    Text {
        text: String,
        /// The file is longer than what is shown.
        cut: bool,
        #[ts(type = "number")]
        size: u64,
    },
    Table {
        rows: Vec<Vec<String>>,
        cut: bool,
        #[ts(type = "number")]
        size: u64,
    },
    Image {
        /// A `data:` URL the window can show without any file access.
        url: String,
        #[ts(type = "number")]
        size: u64,
    },
    /// Not text nor an image Usine shows (or an image too large): download it to open it.
    Other {
        #[ts(type = "number")]
        size: u64,
    },
}

/// How many bytes of the file named `name` to read for a preview.
pub fn bytes_wanted(name: &str) -> u64 {
    match image_type(name) {
        Some(_) => IMAGE_BYTES,
        None => TEXT_BYTES,
    }
}

fn image_type(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.')?.1;
    Some(match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        _ => return None,
    })
}

fn table_delimiter(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    match lower.rsplit_once('.')?.1 {
        "csv" => Some(b','),
        "tsv" | "tab" => Some(b'\t'),
        _ => None,
    }
}

/// The preview of `head`, the first bytes of the file `name` whose size is `size` (the file
/// may have changed since: what was read is shown, and `cut` says whether there is more).
pub fn make(name: &str, size: u64, head: &[u8]) -> Preview {
    let cut = size > head.len() as u64;
    if let Some(mime) = image_type(name) {
        // An image is shown only when it came whole and its bytes say it is one.
        if !cut && sniff_image(head) == Some(mime) {
            let data = base64ct::Base64::encode_string(head);
            return Preview::Image {
                url: format!("data:{mime};base64,{data}"),
                size,
            };
        }
        return Preview::Other { size };
    }
    let Some(text) = as_text(head, cut) else {
        return Preview::Other { size };
    };
    if let Some(delimiter) = table_delimiter(name) {
        let rows = table(text, delimiter, cut);
        if !rows.is_empty() {
            return Preview::Table { rows, cut, size };
        }
    }
    Preview::Text {
        text: text.to_owned(),
        cut,
        size,
    }
}

use base64ct::Encoding as _;

/// The head as text, if it is text: UTF-8 without NUL bytes (a character cut by the end of
/// what was read is dropped).
fn as_text(head: &[u8], cut: bool) -> Option<&str> {
    if head.contains(&0) {
        return None;
    }
    match std::str::from_utf8(head) {
        Ok(text) => Some(text),
        Err(e) if cut && e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()
        }
        Err(_) => None,
    }
}

fn table(text: &str, delimiter: u8, cut: bool) -> Vec<Vec<String>> {
    // The last line of a cut head is probably cut too: it is left out.
    let text = match (cut, text.rfind('\n')) {
        (true, Some(end)) => &text[..end],
        _ => text,
    };
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .take(TABLE_ROWS)
        .map_while(Result::ok)
        .map(|r| r.iter().map(str::to_owned).collect())
        .collect()
}

fn sniff_image(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if head.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_csv_head_is_a_table_without_its_cut_last_line() {
        let head = b"epoch,loss\n1,0.9\n2,0.5\n3,0.";
        let Preview::Table { rows, cut, size } = make("loss.csv", 1000, head) else {
            panic!("not a table")
        };
        assert!(cut);
        assert_eq!(size, 1000);
        assert_eq!(rows, [["epoch", "loss"], ["1", "0.9"], ["2", "0.5"]]);
    }

    #[test]
    fn text_cut_inside_a_character_is_still_text() {
        let head = "température é".as_bytes();
        let head = &head[..head.len() - 1];
        let Preview::Text { text, cut, .. } = make("notes.txt", 100, head) else {
            panic!("not text")
        };
        assert!(cut);
        assert_eq!(text, "température ");
    }

    #[test]
    fn images_are_shown_whole_and_only_when_their_bytes_agree() {
        let png = b"\x89PNG\r\n\x1a\nrest";
        assert!(
            matches!(make("a.PNG", 12, png), Preview::Image { url, .. } if url.starts_with("data:image/png;base64,"))
        );
        assert_eq!(
            make("a.png", 12, b"not a png at"),
            Preview::Other { size: 12 }
        );
        assert_eq!(make("a.png", 99, png), Preview::Other { size: 99 });
        assert_eq!(
            make("model.bin", 3, b"\0\x01\x02"),
            Preview::Other { size: 3 }
        );
    }

    proptest! {
        #[test]
        fn any_bytes_under_any_name_give_a_preview(
            head in proptest::collection::vec(any::<u8>(), 0..512),
            name in "[a-z]{1,5}\\.(csv|tsv|txt|png|jpg|bin)",
            extra in 0u64..10,
        ) {
            let _ = make(&name, head.len() as u64 + extra, &head);
        }
    }
}
