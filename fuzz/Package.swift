// swift-tools-version:6.0
// libFuzzer targets, kept out of the main package so its normal builds carry no sanitizer flags.
// `fuzz/run.sh SECONDS` builds them with the fuzzer and address sanitizer and runs each one.
import PackageDescription

let package = Package(
    name: "wpk-fuzz",
    dependencies: [.package(name: "wpk", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "WPKCore", package: "wpk")]),
        .executableTarget(name: "FuzzLoader", dependencies: ["FuzzSupport", .product(name: "WPKCore", package: "wpk")]),
        .executableTarget(name: "FuzzValidator", dependencies: ["FuzzSupport", .product(name: "WPKCore", package: "wpk")]),
        .executableTarget(name: "FuzzPlanner", dependencies: ["FuzzSupport", .product(name: "WPKCore", package: "wpk")]),
        .executableTarget(name: "FuzzLedger", dependencies: ["FuzzSupport", .product(name: "WPKCore", package: "wpk")]),
        .executableTarget(
            name: "FuzzReviewRender",
            dependencies: [
                "FuzzSupport", .product(name: "WPKCore", package: "wpk"), .product(name: "WPKReview", package: "wpk"),
            ]),
    ]
)
