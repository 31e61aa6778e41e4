// swift-tools-version:5.3
// The iOS half of tauri-plugin-push. Built by `cargo tauri ios build` (the Tauri package is the
// `tauri-api` copy that tauri-plugin's build step places in `.tauri/`); not built in this
// repository's CI, which has no Xcode.

import PackageDescription

let package = Package(
  name: "tauri-plugin-push",
  platforms: [
    .iOS(.v13)
  ],
  products: [
    .library(
      name: "tauri-plugin-push",
      type: .static,
      targets: ["tauri-plugin-push"])
  ],
  dependencies: [
    .package(name: "Tauri", path: "../.tauri/tauri-api")
  ],
  targets: [
    .target(
      name: "tauri-plugin-push",
      dependencies: [
        .byName(name: "Tauri")
      ],
      path: "Sources")
  ]
)
