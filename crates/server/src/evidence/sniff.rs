//! What an uploaded file is, judged from its first bytes only. The name and the declared type
//! are the client's word and are ignored: a script renamed to `photo.png` must not be stored and
//! later served as an image.

use kintara_api::EvidenceKind;

/// How many leading bytes are enough to tell every accepted type apart (docx needs to see a few
/// zip entries; everything else far fewer).
pub const SNIFF_LEN: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub kind: EvidenceKind,
    /// The media type served back on download.
    pub content_type: &'static str,
    /// For a file that arrived without a usable name.
    pub extension: &'static str,
}

const fn t(kind: EvidenceKind, content_type: &'static str, extension: &'static str) -> Sniffed {
    Sniffed {
        kind,
        content_type,
        extension,
    }
}

/// The accepted type of a file starting with `head`, or `None` when it is not one we store.
pub fn sniff(head: &[u8]) -> Option<Sniffed> {
    use EvidenceKind::{Audio, Document, Image};
    // ISO base media files (HEIC, M4A, MP4, 3GP) are told apart by their brands; `infer` knows
    // only some of the brands phones write, so these are read here.
    if let Some(brands) = ftyp_brands(head) {
        return iso_media(&brands);
    }
    let found = infer::get(head)?;
    Some(match found.mime_type() {
        "image/jpeg" => t(Image, "image/jpeg", "jpg"),
        "image/png" => t(Image, "image/png", "png"),
        "image/webp" => t(Image, "image/webp", "webp"),
        "image/gif" => t(Image, "image/gif", "gif"),
        "audio/mpeg" => t(Audio, "audio/mpeg", "mp3"),
        "audio/aac" => t(Audio, "audio/aac", "aac"),
        "audio/ogg" | "audio/opus" => t(Audio, "audio/ogg", "ogg"),
        "audio/x-wav" => t(Audio, "audio/wav", "wav"),
        "audio/amr" => t(Audio, "audio/amr", "amr"),
        // Browsers' MediaRecorder writes voice notes as WebM; the container alone cannot say
        // whether a video track is inside, so it is stored as a recording.
        "video/webm" => t(Audio, "audio/webm", "webm"),
        "application/pdf" => t(Document, "application/pdf", "pdf"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => t(
            Document,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
        ),
        "application/vnd.oasis.opendocument.text" => {
            t(Document, "application/vnd.oasis.opendocument.text", "odt")
        }
        _ => return None,
    })
}

/// The major brand followed by the compatible brands of an ISO BMFF `ftyp` box at offset 0.
fn ftyp_brands(head: &[u8]) -> Option<Vec<[u8; 4]>> {
    if head.len() < 12 || &head[4..8] != b"ftyp" {
        return None;
    }
    let size = u32::from_be_bytes(head[..4].try_into().ok()?) as usize;
    let end = size.clamp(12, head.len());
    let mut brands = vec![head[8..12].try_into().ok()?];
    // Skip minor_version (4 bytes) after the major brand.
    let mut at = 16;
    while at + 4 <= end {
        brands.push(head[at..at + 4].try_into().ok()?);
        at += 4;
    }
    Some(brands)
}

fn iso_media(brands: &[[u8; 4]]) -> Option<Sniffed> {
    use EvidenceKind::{Audio, Image};
    let has = |b: &[u8; 4]| brands.iter().any(|x| x == b);
    let major = brands[0];
    if matches!(
        &major,
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx"
    ) || (matches!(&major, b"mif1" | b"msf1") && has(b"heic"))
    {
        return Some(t(Image, "image/heic", "heic"));
    }
    if matches!(&major, b"mif1" | b"msf1") {
        // A HEIF image of another codec (AVIF declares `avif` and is not accepted).
        return (!has(b"avif") && !has(b"avis")).then_some(t(Image, "image/heif", "heif"));
    }
    if major.starts_with(b"3gp") || major.starts_with(b"3gr") || major.starts_with(b"3gs") {
        return Some(t(Audio, "audio/3gpp", "3gp"));
    }
    if major.starts_with(b"3g2") {
        return Some(t(Audio, "audio/3gpp2", "3g2"));
    }
    if matches!(&major, b"M4A " | b"M4B ") {
        return Some(t(Audio, "audio/mp4", "m4a"));
    }
    // Android's recorder writes AAC in a plain MPEG-4 container (`isom`, `mp42`, ...) even for
    // voice notes; like WebM, these are stored as recordings.
    if matches!(
        &major,
        b"isom" | b"iso2" | b"iso4" | b"iso5" | b"iso6" | b"mp41" | b"mp42" | b"dash" | b"MSNV"
    ) {
        return Some(t(Audio, "audio/mp4", "m4a"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len();
        let mut b = (size as u32).to_be_bytes().to_vec();
        b.extend_from_slice(b"ftyp");
        b.extend_from_slice(major);
        b.extend_from_slice(&[0, 0, 0, 0]);
        for c in compatible {
            b.extend_from_slice(*c);
        }
        b.extend_from_slice(&[0u8; 64]);
        b
    }

    fn kind_of(head: &[u8]) -> Option<(EvidenceKind, &'static str)> {
        sniff(head).map(|s| (s.kind, s.content_type))
    }

    #[test]
    fn images() {
        use EvidenceKind::Image;
        assert_eq!(
            kind_of(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some((Image, "image/png"))
        );
        assert_eq!(
            kind_of(b"\xff\xd8\xff\xe0\0\x10JFIF\0"),
            Some((Image, "image/jpeg"))
        );
        assert_eq!(kind_of(b"GIF89a\x01\0\x01\0"), Some((Image, "image/gif")));
        assert_eq!(
            kind_of(b"RIFF\x24\0\0\0WEBPVP8 "),
            Some((Image, "image/webp"))
        );
        assert_eq!(
            kind_of(&ftyp(b"heic", &[b"mif1", b"heic"])),
            Some((Image, "image/heic"))
        );
        assert_eq!(
            kind_of(&ftyp(b"mif1", &[b"mif1", b"heic"])),
            Some((Image, "image/heic"))
        );
        assert_eq!(
            kind_of(&ftyp(b"mif1", &[b"mif1"])),
            Some((Image, "image/heif"))
        );
        assert_eq!(kind_of(&ftyp(b"avif", &[b"mif1"])), None);
    }

    #[test]
    fn recordings() {
        use EvidenceKind::Audio;
        assert_eq!(kind_of(b"ID3\x04\0\0\0\0\0\0"), Some((Audio, "audio/mpeg")));
        assert_eq!(
            kind_of(b"\xff\xfb\x90\x64\0\0"),
            Some((Audio, "audio/mpeg"))
        );
        assert_eq!(kind_of(b"\xff\xf1\x50\x80\0\0"), Some((Audio, "audio/aac")));
        assert_eq!(
            kind_of(b"RIFF\x24\0\0\0WAVEfmt "),
            Some((Audio, "audio/wav"))
        );
        assert_eq!(kind_of(b"#!AMR\n\0\0\0\0\0\0"), Some((Audio, "audio/amr")));
        let mut ogg = b"OggS\0\x02".to_vec();
        ogg.resize(28, 0);
        ogg.extend_from_slice(b"OpusHead\x01\x02");
        assert_eq!(kind_of(&ogg), Some((Audio, "audio/ogg")));
        assert_eq!(
            kind_of(&ftyp(b"M4A ", &[b"M4A ", b"mp42", b"isom"])),
            Some((Audio, "audio/mp4"))
        );
        assert_eq!(
            kind_of(&ftyp(b"mp42", &[b"isom"])),
            Some((Audio, "audio/mp4"))
        );
        assert_eq!(
            kind_of(&ftyp(b"3gp4", &[b"3gp4"])),
            Some((Audio, "audio/3gpp"))
        );
        let mut webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm".to_vec();
        webm.resize(300, 0);
        assert_eq!(kind_of(&webm), Some((Audio, "audio/webm")));
    }

    #[test]
    fn documents() {
        assert_eq!(
            kind_of(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"),
            Some((EvidenceKind::Document, "application/pdf"))
        );
    }

    #[test]
    fn everything_else_is_refused() {
        assert_eq!(kind_of(b""), None);
        assert_eq!(
            kind_of(b"hello, this is plain text pretending to be a png"),
            None
        );
        assert_eq!(kind_of(b"<html><script>alert(1)</script>"), None);
        assert_eq!(kind_of(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"), None);
        assert_eq!(kind_of(b"MZ\x90\0\x03\0\0\0\x04\0\0\0"), None);
        // A plain zip is not a document.
        assert_eq!(kind_of(b"PK\x03\x04\x14\0\0\0\x08\0\0\0\0\0\0\0"), None);
        // QuickTime video is not a recording.
        assert_eq!(kind_of(&ftyp(b"qt  ", &[b"qt  "])), None);
    }
}
