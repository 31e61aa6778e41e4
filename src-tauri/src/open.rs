//! Hands a document or a map to the system: its document viewer, its map or browser.
//!
//! An evidence document is decrypted into `viewing/` under the app's own data directory (0700,
//! the file 0600), never into Downloads or the system's temporary directory, and `viewing/`
//! goes at sign-out and at every start.

use std::path::{Path, PathBuf};

use kintara_api::app::UiErrorKind;
use uuid::Uuid;

use crate::ui_error::UiError;

/// The program that opens things: `KINTARA_OPENER` when set (the end-to-end tests record what
/// the app opens with it), otherwise the system's own.
fn opener() -> String {
    if let Ok(p) = std::env::var("KINTARA_OPENER") {
        return p;
    }
    if cfg!(target_os = "macos") {
        "open".into()
    } else if cfg!(target_os = "windows") {
        "explorer".into()
    } else {
        "xdg-open".into()
    }
}

/// Starts the opener on `target` and does not wait for the viewer to close.
fn launch(target: &str) -> Result<(), UiError> {
    let mut child = std::process::Command::new(opener())
        .arg(target)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|_| UiError::text(UiErrorKind::Other, "error.cannot_open"))?;
    // Reaped when it ends, so no zombie stays behind.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

/// Where documents being viewed are kept.
pub fn viewing_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("viewing")
}

/// Removes every document copy (sign-out, start).
pub fn forget_viewed(data_dir: &Path) {
    let _ = std::fs::remove_dir_all(viewing_dir(data_dir));
}

/// `id.ext`, the extension taken from the uploaded name (letters and digits, at most 8).
fn copy_name(id: Uuid, file_name: &str) -> String {
    let ext: String = Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    if ext.is_empty() {
        id.to_string()
    } else {
        format!("{id}.{ext}")
    }
}

/// Writes `bytes` as the copy of evidence `id` and opens it.
pub fn open_document(
    data_dir: &Path,
    id: Uuid,
    file_name: &str,
    bytes: &[u8],
) -> Result<(), UiError> {
    let dir = viewing_dir(data_dir);
    let path = dir.join(copy_name(id, file_name));
    write_private(&dir, &path, bytes)
        .map_err(|_| UiError::text(UiErrorKind::Other, "error.cannot_open"))?;
    launch(&path.to_string_lossy())
}

#[cfg(unix)]
fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(path, bytes)
}

/// Opens OpenStreetMap at the place. Only numbers go into the address, so the UI cannot make
/// the app open anything else.
pub fn open_map(latitude: f64, longitude: f64) -> Result<(), UiError> {
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return Err(UiError::text(UiErrorKind::Other, "error.cannot_open"));
    }
    launch(&map_url(latitude, longitude))
}

fn map_url(latitude: f64, longitude: f64) -> String {
    format!(
        "https://www.openstreetmap.org/?mlat={latitude:.5}&mlon={longitude:.5}#map=16/{latitude:.5}/{longitude:.5}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_named_by_the_evidence_id_and_a_clean_extension() {
        let id = Uuid::nil();
        assert_eq!(copy_name(id, "statement.PDF"), format!("{id}.pdf"));
        assert_eq!(copy_name(id, "../../x.p;df"), format!("{id}.pdf"));
        assert_eq!(copy_name(id, "no-extension"), id.to_string());
    }

    #[test]
    fn the_map_address_holds_only_the_numbers() {
        assert_eq!(
            map_url(-1.2833, 36.8167),
            "https://www.openstreetmap.org/?mlat=-1.28330&mlon=36.81670#map=16/-1.28330/36.81670"
        );
        assert!(open_map(91.0, 0.0).is_err());
        assert!(open_map(f64::NAN, 0.0).is_err());
    }
}
