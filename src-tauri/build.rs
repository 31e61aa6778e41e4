fn main() {
    // `desktop_bus`: desktops whose notifications go over D-Bus (Linux and the BSDs), where
    // `os_notify` raises urgent alerts itself to mark them critical.
    println!("cargo::rustc-check-cfg=cfg(desktop_bus)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let unix =
        std::env::var("CARGO_CFG_TARGET_FAMILY").is_ok_and(|f| f.split(',').any(|f| f == "unix"));
    if unix && !["macos", "ios", "android"].contains(&os.as_str()) {
        println!("cargo::rustc-cfg=desktop_bus");
    }
    tauri_build::build()
}
