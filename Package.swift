// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "wpk",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "wpk", targets: ["wpk"]),
        .library(name: "WPKCore", targets: ["WPKCore"]),
        .library(name: "WPKReview", targets: ["WPKReview"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.1"),
        // wpk serve's HTTP edge only (WPKServe); no default traits: neither swift-configuration nor full Foundation is needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"]), .brew(["libyaml"])]
        ),
        .systemLibrary(
            name: "CNCurses",
            pkgConfig: "ncursesw",
            providers: [.apt(["libncurses-dev"]), .brew(["ncurses"])]
        ),
        // Linux process control Swift cannot import directly (prctl, pidfd_open); used only by Run/.
        .systemLibrary(name: "CProcess"),
        .target(
            name: "WPKCore",
            dependencies: [
                "CYAML", "CProcess",
                .product(name: "Crypto", package: "swift-crypto"),
                // RSA public keys for ssh-rsa signatures (rsa-sha2-256/512) in Signatures/.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "BigInt", package: "BigInt"),
            ]
        ),
        // The team ledger on PostgreSQL: its own target so the core, its tests and the fuzzers stay free of NIO.
        .target(
            name: "WPKPostgres",
            dependencies: ["WPKCore", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .target(name: "WPKReview", dependencies: ["WPKCore"]),
        .target(name: "WPKCurses", dependencies: ["WPKReview", "CNCurses"]),
        // The HTTP edge of `wpk serve`: authentication, limits, starting `wpk run` processes.
        .target(
            name: "WPKServe",
            dependencies: [
                "WPKCore", "CProcess",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "wpk",
            dependencies: [
                "WPKCore", "WPKReview", "WPKCurses", "WPKServe", "WPKPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The Swift runtime and Foundation linked in: a dynamically linked wpk spends about a
            // third of a one-file `wpk validate` loading and relocating their shared libraries.
            linkerSettings: [
                .unsafeFlags(
                    [
                        "-static-stdlib", "-use-ld=lld", "-lCoreFoundation", "-l_FoundationICU", "-l_FoundationCShims",
                        "-l_FoundationCollections", "-lswiftSynchronization",
                    ], .when(configuration: .release))
            ]
        ),
        .executableTarget(name: "wpk-bench", dependencies: ["WPKCore", "CYAML", "WPKReview", "WPKCurses", "WPKPostgres"]),
        // Test helper: a separate process appending to a ledger (concurrency and crash tests).
        .executableTarget(name: "ledger-stress", dependencies: ["WPKCore", "WPKPostgres"]),
        // The PostgreSQL ledger against a real server (WPK_TEST_PG_SOCKET_DIR, scripts/test-postgres.sh).
        .testTarget(name: "WPKPostgresTests", dependencies: ["WPKPostgres", "WPKCore"]),
        .testTarget(name: "WPKCoreTests", dependencies: ["WPKCore"]),
        // Fixtures and golden screens are read by path (#filePath), so they stay plain files.
        .testTarget(name: "WPKReviewTests", dependencies: ["WPKReview", "WPKCore"], exclude: ["Fixtures", "Snapshots"]),
        .testTarget(name: "EndToEndTests", dependencies: ["WPKCore"]),
    ]
)
