// swift-tools-version:6.0
import PackageDescription

// Layers import downward only (README "Layout", DESIGN.md):
// gantry → GantryCLI → Stages → (OCI, Versioning, Health, GitHub) → HTTP → CCurl; ActionsCore below
// Stages; Versioning → CZlib, Crypto (SHA-1 of packs).
let package = Package(
  name: "gantry",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "gantry", targets: ["gantry"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
    // X.509 chains and ASN.1 for Sigstore (Fulcio certificates, RFC 3161 timestamps).
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
  ],
  targets: [
    .systemLibrary(
      name: "CCurl",
      pkgConfig: "libcurl",
      providers: [.apt(["libcurl4-openssl-dev"])]
    ),
    // zlib inflates git's objects (the action image has no git binary).
    .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
    .target(name: "HTTP", dependencies: ["CCurl"]),
    .target(name: "ActionsCore"),
    .target(name: "Versioning", dependencies: ["CZlib", "TOMLKit", .product(name: "Crypto", package: "swift-crypto")]),
    .target(name: "OCI", dependencies: ["HTTP", .product(name: "Crypto", package: "swift-crypto")]),
    .target(name: "Health", dependencies: ["HTTP"]),
    // Offline Sigstore verification (bundles, Fulcio chains, Rekor, in-toto): no HTTP.
    .target(
      name: "Sigstore",
      dependencies: [
        .product(name: "Crypto", package: "swift-crypto"), .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
      ]),
    .target(name: "GitHub", dependencies: ["HTTP"]),
    .target(name: "Stages", dependencies: ["ActionsCore", "HTTP", "Versioning", "OCI", "Health", "GitHub", "Sigstore"]),
    .target(name: "GantryCLI", dependencies: ["Stages", "ActionsCore"]),
    .executableTarget(name: "gantry", dependencies: ["GantryCLI"]),
    // libFuzzer targets for the parsers hostile bytes reach (scripts/fuzz), and their replayer.
    .target(name: "FuzzTargets", dependencies: ["HTTP", "Health", "OCI", "Versioning", "Stages", "Sigstore"]),
    .executableTarget(name: "gantry-fuzz", dependencies: ["FuzzTargets"]),
    .target(
      name: "TestSupport",
      dependencies: [
        "HTTP", "OCI", "Versioning", .product(name: "Crypto", package: "swift-crypto"), .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
      ]),
    .testTarget(name: "HTTPTests", dependencies: ["HTTP", "TestSupport"]),
    .testTarget(name: "ActionsCoreTests", dependencies: ["ActionsCore"]),
    .testTarget(name: "VersioningTests", dependencies: ["Versioning", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
    .testTarget(name: "HealthTests", dependencies: ["Health"]),
    .testTarget(name: "OCITests", dependencies: ["OCI", "TestSupport"]),
    .testTarget(
      name: "SigstoreTests",
      dependencies: [
        "Sigstore", "TestSupport", "OCI", .product(name: "Crypto", package: "swift-crypto"), .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
      ]),
    .testTarget(name: "StagesTests", dependencies: ["Stages", "ActionsCore", "GantryCLI", "OCI", "GitHub", "HTTP", "TestSupport", "Sigstore"]),
    .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets"]),
    .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "GantryCLI", "Stages", "OCI"]),
  ],
  swiftLanguageModes: [.v6]
)
