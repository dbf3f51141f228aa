/// Container images: pinned, and from where the runtime's image policy allows.
enum ImageRules {
    static let unpinned = RuleInfo(
        "WPK315", .warning, "unpinned-image", "An image has no tag or uses `latest`, so what runs can change without the playbook changing."
    )
    static let policy = RuleInfo(
        "WPK323", .error, "image-policy",
        "An image is outside `runtime.docker.image_policy` (registry not allowed, or no digest where one is required).")
    static let rules = [unpinned, policy]

    static func check(_ context: RuleContext) -> [Diagnostic] {
        let docker = context.playbook.runtime.docker
        var out: [Diagnostic] = []
        for (step, _) in context.steps {
            guard let spec = step.actionSpec, spec.target == .image, let target = step.target else { continue }
            // A reference resolved only at run time cannot be judged here.
            if target.value.containsBytes("${{") { continue }
            let image = ImageReference(target.value)
            if image.digest == nil && (image.tag == nil || image.tag == "latest") {
                let why = image.tag == nil ? "has no tag, so it means :latest" : "uses the :latest tag"
                out.append(
                    context.report(
                        unpinned,
                        "image \"\(target.value)\" \(why), which can change under the playbook; pin a version tag, ideally with @sha256:<digest>",
                        at: target))
            }
            if let docker {
                if !docker.allowedRegistries.isEmpty
                    && !docker.allowedRegistries.contains(where: {
                        image.name == $0 || image.name.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/")
                    })
                {
                    out.append(
                        context.report(
                            policy,
                            "image \"\(target.value)\" is not from an allowed registry (\(docker.allowedRegistries.joined(separator: ", "))); mirror it there or extend image_policy.allowed_registries",
                            at: target))
                } else if docker.requireDigest && image.digest == nil {
                    out.append(
                        context.report(
                            policy,
                            "image \"\(target.value)\" is not pinned by digest, which image_policy.require_digest demands; append @sha256:<digest>",
                            at: target))
                }
            }
        }
        return out
    }
}

/// An image reference `name[:tag][@digest]`; a `:` before the last `/` belongs to a registry port.
struct ImageReference {
    var name: String
    var tag: String?
    var digest: String?

    init(_ text: String) {
        var rest = Substring(text)
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
        }
        let lastSlash = rest.lastIndex(of: "/") ?? rest.startIndex
        if let colon = rest[lastSlash...].lastIndex(of: ":") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        name = String(rest)
    }
}
