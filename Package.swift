// swift-tools-version:6.0
import PackageDescription

// Layers import downward only (README "Layout", DESIGN.md):
// gantry → GantryCLI → Stages → (OCI, Versioning, Health, GitHub) → HTTP → CCurl; ActionsCore below
// Stages; Versioning → CGit2 (libgit2).
let package = Package(
  name: "gantry",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "gantry", targets: ["gantry"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
  ],
  targets: [
    .systemLibrary(
      name: "CCurl",
      pkgConfig: "libcurl",
      providers: [.apt(["libcurl4-openssl-dev"])]
    ),
    // libgit2 reads repositories (the action image has no git binary); built from Debian's
    // source with only what reading needs for the static binary (scripts/build-static).
    .systemLibrary(
      name: "CGit2",
      pkgConfig: "libgit2",
      providers: [.apt(["libgit2-dev"])]
    ),
    .target(name: "HTTP", dependencies: ["CCurl"]),
    .target(name: "ActionsCore"),
    .target(name: "Versioning", dependencies: ["CGit2", "TOMLKit"]),
    .target(name: "OCI", dependencies: ["HTTP", .product(name: "Crypto", package: "swift-crypto")]),
    .target(name: "Health", dependencies: ["HTTP"]),
    .target(name: "GitHub", dependencies: ["HTTP"]),
    .target(name: "Stages", dependencies: ["ActionsCore", "HTTP", "Versioning", "OCI", "Health", "GitHub"]),
    .target(name: "GantryCLI", dependencies: ["Stages", "ActionsCore"]),
    .executableTarget(name: "gantry", dependencies: ["GantryCLI"]),
    // libFuzzer targets for the parsers hostile bytes reach (scripts/fuzz), and their replayer.
    .target(name: "FuzzTargets", dependencies: ["HTTP", "Health", "OCI", "Versioning", "Stages"]),
    .executableTarget(name: "gantry-fuzz", dependencies: ["FuzzTargets"]),
    .target(name: "TestSupport", dependencies: ["HTTP", "OCI", "Versioning", .product(name: "Crypto", package: "swift-crypto")]),
    .testTarget(name: "HTTPTests", dependencies: ["HTTP", "TestSupport"]),
    .testTarget(name: "ActionsCoreTests", dependencies: ["ActionsCore"]),
    .testTarget(name: "VersioningTests", dependencies: ["Versioning", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
    .testTarget(name: "HealthTests", dependencies: ["Health"]),
    .testTarget(name: "OCITests", dependencies: ["OCI", "TestSupport"]),
    .testTarget(name: "StagesTests", dependencies: ["Stages", "ActionsCore", "GantryCLI", "OCI", "GitHub", "HTTP", "TestSupport"]),
    .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets"]),
    .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "GantryCLI", "Stages", "OCI"]),
  ],
  swiftLanguageModes: [.v6]
)
