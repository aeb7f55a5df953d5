// swift-tools-version:6.1
import PackageDescription

// Layers import downward only (README "Layout", DESIGN.md):
// gantry → GantryCLI → Stages → (OCI, Versioning, Health, GitHub) → HTTP → CCurl; ActionsCore below
// Stages; Versioning → CGit2 (libgit2); Basics at the bottom of everything. CLibraries reaches the
// C libraries behind CCurl and CGit2 (loaded on first use, or linked in: the `LinkDirect` trait).
let package = Package(
  name: "gantry",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "gantry", targets: ["gantry"])
  ],
  traits: [
    .trait(
      name: "LinkDirect",
      description: "Link libcurl and libgit2 into the binary (scripts/build-static: a static binary cannot dlopen) instead of loading them on first use"
    ),
    .default(enabledTraits: []),
  ],
  dependencies: [
    // 4.x: 3.12.3's RSA public-key parse frees its key twice when the DER is no RSA key
    // (a certificate in a hostile bundle's RFC 3161 timestamp did it; AddressSanitizer,
    // Tests/Fuzz/corpus/rfc3161-timestamp/rsa-spki-double-free).
    .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
    // X.509 chains and ASN.1 for Sigstore (Fulcio certificates, RFC 3161 timestamps).
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
  ],
  targets: [
    // libcurl's and libgit2's headers (and Gantry's shims). The libraries themselves are not
    // linked: CLibraries loads libcurl.so.4 and libgit2.so.1.5 the first time a stage needs
    // them, so `--version`, `--help`, bad input and build-tag start without their ~50 shared
    // libraries (docs/benchmarks.md "Start-up and size"). With the `LinkDirect` trait
    // (scripts/build-static) CLibraries links them instead, through CCurlLink and CGit2Link.
    .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
    // libgit2 reads repositories (the action image has no git binary); built from Debian's
    // source with only what reading needs for the static binary (scripts/build-static).
    .systemLibrary(name: "CGit2", providers: [.apt(["libgit2-dev"])]),
    .systemLibrary(name: "CCurlLink", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
    .systemLibrary(name: "CGit2Link", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
    .target(
      name: "CLibraries",
      dependencies: [
        "CCurl", "CGit2", .target(name: "CCurlLink", condition: .when(traits: ["LinkDirect"])),
        .target(name: "CGit2Link", condition: .when(traits: ["LinkDirect"])),
      ],
      cSettings: [.define("GANTRY_LINK_DIRECT", .when(traits: ["LinkDirect"]))]
    ),
    // What Gantry used from Foundation beyond FoundationEssentials (locks, string helpers, UTC
    // times, JSON values, file descriptors): importing Foundation itself links ICU (issue 17).
    .target(name: "Basics"),
    .target(name: "HTTP", dependencies: ["Basics", "CCurl", "CLibraries"]),
    .target(name: "ActionsCore", dependencies: ["Basics"]),
    .target(name: "Versioning", dependencies: ["Basics", "CGit2", "CLibraries", "TOMLKit"]),
    .target(name: "OCI", dependencies: ["Basics", "HTTP", .product(name: "Crypto", package: "swift-crypto")]),
    .target(name: "Health", dependencies: ["Basics", "HTTP"]),
    // Offline Sigstore verification (bundles, Fulcio chains, Rekor, in-toto): no HTTP.
    .target(
      name: "Sigstore",
      dependencies: [
        "Basics", .product(name: "Crypto", package: "swift-crypto"), .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
        // RSA for timestamp authorities that sign with it (already linked by swift-certificates).
        .product(name: "_CryptoExtras", package: "swift-crypto"),
      ]),
    .target(name: "GitHub", dependencies: ["Basics", "HTTP"]),
    .target(name: "Stages", dependencies: ["Basics", "ActionsCore", "HTTP", "Versioning", "OCI", "Health", "GitHub", "Sigstore"]),
    .target(name: "GantryCLI", dependencies: ["Basics", "Stages", "ActionsCore", "Versioning"]),
    .executableTarget(name: "gantry", dependencies: ["GantryCLI"]),
    // libFuzzer targets for the parsers hostile bytes reach (scripts/fuzz), and their replayer.
    .target(name: "FuzzTargets", dependencies: ["Basics", "GitHub", "HTTP", "Health", "OCI", "Versioning", "Stages", "Sigstore"]),
    .executableTarget(name: "gantry-fuzz", dependencies: ["FuzzTargets"]),
    .target(
      name: "TestSupport",
      dependencies: [
        "Basics", "HTTP", "OCI", "Versioning", .product(name: "Crypto", package: "swift-crypto"), .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
      ]),
    .testTarget(name: "HTTPTests", dependencies: ["HTTP", "TestSupport"]),
    .testTarget(name: "ActionsCoreTests", dependencies: ["ActionsCore"]),
    .testTarget(name: "BasicsTests", dependencies: ["Basics"]),
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

// Members come only from modules a file imports itself (SE-0444): Foundation reaches our
// targets through dependencies, and its `String` API must not be used by accident (issue 17).
for target in package.targets where target.type != .system {
  target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("MemberImportVisibility")]
}
