/// Deterministic playbook-sized YAML documents for benchmarks: realistic shape and size
/// (about 3 KB, 40 handlers' worth of keys), varied so no two are byte-identical.
enum Corpus {
    /// The `index`-th generated playbook.
    static func playbook(_ index: Int, handlers: Int = 8) -> String {
        var text = """
            # yaml-language-server: $schema=../../specs/wpk_schema.yaml
            apiVersion: v1
            kind: WorkflowPackage
            metadata:
              name: generated-\(index)
              version: 1.\(index % 10).0
              author: sre-team
              description: Generated benchmark playbook number \(index)
              labels:
                team: platform
                tier: "\(index % 3)"
            spec:
              runtime:
                type: k8s
                k8s:
                  context: prod-eu-west-1
                  namespace: payments
                  min_version: "1.27"
              safety:
                mode: manual
                approvals_required: 1
                allow_self_approval: false
                approval_timeout: 1800
                dry_run_first: true
              inputs:
                - name: deployment
                  type: string
                  required: true
                  pattern: "^[a-z0-9-]+$"
                - name: replicas
                  type: integer
                  default: \(3 + index % 5)
              triggers:
                - type: webhook
                  path: /hooks/generated-\(index)
                - type: schedule
                  cron: "*/\(5 + index % 10) * * * *"
                  timezone: Europe/Berlin
              handlers:

            """
        for h in 0..<handlers {
            text += """
                    - name: step-\(h)
                      description: Step \(h) of playbook \(index)
                      action: \(h % 2 == 0 ? "get" : "rollout-status")
                      target: deployment/${{ inputs.deployment }}
                      timeout: \(30 + h * 10)
                      retry:
                        max_attempts: 3
                        backoff: exponential
                        initial_delay: 2
                        max_delay: 30
                      on_failure: abort
                      depends_on: [\(h == 0 ? "" : "step-\(h - 1)")]

                """
        }
        text += """
              validation:
                permissions: [deployments:get, pods:list]
                limits:
                  max_runtime: 3600
                  max_targets: 5
              monitoring:
                metrics:
                  - name: http_request_duration_seconds
                    threshold: 0.5
                alerts:
                  - name: HighLatency
                    severity: page
                    notify: [pagerduty:payments]

            """
        return text
    }

    /// `count` playbooks as bytes.
    static func playbooks(count: Int) -> [[UInt8]] {
        (0..<count).map { Array(playbook($0).utf8) }
    }
}
