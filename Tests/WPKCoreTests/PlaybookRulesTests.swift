import Testing

@testable import WPKCore

/// One rule case: a playbook's `spec:` body with markers, and the code expected at each marker.
/// The diagnostics must be exactly these, no more; a passing case expects none at all.
struct RuleCase: CustomTestStringConvertible, Sendable {
    var name: String
    var spec: String
    var expected: [(marker: String, code: String)]
    /// The machine policy's gate floor the case is checked under.
    var gateFloor: MachinePolicy.GateFloor
    var testDescription: String { name }

    init(_ name: String, _ spec: String, _ expected: [(String, String)] = [], gateFloor: MachinePolicy.GateFloor = .mutating) {
        self.name = name
        self.spec = spec
        self.expected = expected.map { (marker: $0.0, code: $0.1) }
        self.gateFloor = gateFloor
    }

    /// The whole document: fixed metadata, then the case's spec.
    var document: String {
        """
        apiVersion: wpk/v1
        kind: WorkflowPackage
        metadata:
          name: rule-case
          version: 1.0.0
          author: sre@example.com
        spec:

        """ + spec
    }
}

private let k8s = """
      runtime:
        type: k8s
        k8s: {context: prod, namespace: web}

    """

private let ruleCases: [RuleCase] = [
    // WPK301 duplicate step names (handlers and rollback share one namespace).
    RuleCase(
        "WPK301 fails: two handlers named alike",
        k8s + """
              handlers:
                - {name: show, action: get, target: pods}
                - {name: 1️⃣show, action: get, target: pods}
              validation: {permissions: [pods:list]}
            """, [("1️⃣", "WPK301")]),
    RuleCase(
        "WPK301 fails: rollback step reuses a handler name",
        k8s + """
              handlers:
                - {name: restart, action: rollout-restart, target: deployment/web}
              rollback:
                - {name: 1️⃣restart, undoes: restart, action: rollout-undo, target: deployment/web}
              validation: {permissions: [deployments:patch]}
            """, [("1️⃣", "WPK301")]),
    RuleCase(
        "WPK301 passes: distinct names",
        k8s + """
              handlers:
                - {name: show, action: get, target: pods}
                - {name: show-again, action: get, target: pods}
              validation: {permissions: [pods:list]}
            """),
    // WPK302 unknown dependency.
    RuleCase(
        "WPK302 fails: depends_on names nothing",
        k8s + """
              handlers:
                - {name: show, action: get, target: pods}
                - name: describe
                  action: describe
                  target: deployment/web
                  depends_on: [show, 1️⃣shwo]
              validation: {permissions: [pods:list, deployments:get, events:list]}
            """, [("1️⃣", "WPK302")]),
    RuleCase(
        "WPK302 fails: depends_on names a rollback step",
        k8s + """
              handlers:
                - {name: restart, action: rollout-restart, target: deployment/web, depends_on: [1️⃣undo]}
              rollback:
                - {name: undo, undoes: restart, action: rollout-undo, target: deployment/web}
              validation: {permissions: [deployments:patch]}
            """, [("1️⃣", "WPK302")]),
    RuleCase(
        "WPK302 passes: depends_on names a handler",
        k8s + """
              handlers:
                - {name: show, action: get, target: pods}
                - {name: restart, action: rollout-restart, target: deployment/web, depends_on: [show]}
              validation: {permissions: [pods:list, deployments:patch]}
            """),
    // WPK303 rollback of an unknown handler.
    RuleCase(
        "WPK303 fails: undoes names no handler",
        k8s + """
              handlers:
                - {name: restart, action: rollout-restart, target: deployment/web}
              rollback:
                - {name: undo, undoes: 1️⃣restrat, action: rollout-undo, target: deployment/web}
              validation: {permissions: [deployments:patch]}
            """, [("1️⃣", "WPK303")]),
    RuleCase(
        "WPK303 passes: undoes a handler",
        k8s + """
              handlers:
                - {name: restart, action: rollout-restart, target: deployment/web}
              rollback:
                - {name: undo, undoes: restart, action: rollout-undo, target: deployment/web}
              validation: {permissions: [deployments:patch]}
            """),
    // WPK304 cycles, reported once each, at the depends_on entry that closes them.
    RuleCase(
        "WPK304 fails: a -> b -> c -> a, plus a self-dependency",
        k8s + """
              handlers:
                - {name: a, action: get, target: pods, depends_on: [c]}
                - {name: b, action: get, target: pods, depends_on: [1️⃣a]}
                - {name: c, action: get, target: pods, depends_on: [b]}
                - {name: d, action: get, target: pods, depends_on: [2️⃣d]}
              validation: {permissions: [pods:list]}
            """, [("1️⃣", "WPK304"), ("2️⃣", "WPK304")]),
    RuleCase(
        "WPK304 passes: a diamond is no cycle",
        k8s + """
              handlers:
                - {name: a, action: get, target: pods}
                - {name: b, action: get, target: pods, depends_on: [a]}
                - {name: c, action: get, target: pods, depends_on: [a]}
                - {name: d, action: get, target: pods, depends_on: [b, c]}
              validation: {permissions: [pods:list]}
            """),
    // WPK305 template references.
    RuleCase(
        "WPK305 fails: undeclared input, unknown run value, unknown namespace, unclosed",
        k8s + """
              inputs:
                - {name: deployment, type: string, required: true}
              handlers:
                - name: restart
                  action: rollout-restart
                  target: deployment/1️⃣${{ inputs.deploymnet }}
                - name: annotate
                  action: annotate
                  target: deployment/${{ inputs.deployment }}
                  params:
                    annotations:
                      a: 2️⃣${{ run.started }}
                      b: x-${{ inputs.deployment }}-3️⃣${{ env.HOME }}
                      c: 4️⃣${{ inputs.deployment
              validation: {permissions: [deployments:patch]}
            """, [("1️⃣", "WPK305"), ("2️⃣", "WPK305"), ("3️⃣", "WPK305"), ("4️⃣", "WPK305")]),
    RuleCase(
        "WPK305 fails: inside a literal block script, at the exact line and column",
        """
          runtime:
            type: shell
            shell: {interpreter: /bin/bash}
          safety: {mode: manual}
          inputs:
            - {name: dir, type: string, required: true}
          handlers:
            - name: list
              action: script
              params:
                script: |
                  set -euo pipefail
                  ls -l ${{ inputs.dir }}
                  du -sh 1️⃣${{ inputs.folder }}
          validation: {permissions: [shell:exec]}
        """, [("1️⃣", "WPK305")]),
    RuleCase(
        "WPK305 passes: declared inputs, run.id and a when expression",
        k8s + """
              inputs:
                - {name: deployment, type: string, required: true}
                - {name: force, type: boolean, default: false}
              handlers:
                - name: annotate
                  action: annotate
                  target: deployment/${{ inputs.deployment }}
                  params:
                    annotations: {restarted-by: "wpk-${{ run.id }}"}
                  when: "${{ inputs.force == 'true' }}"
              validation: {permissions: [deployments:patch]}
            """),
    // WPK306 / WPK307 permissions.
    RuleCase(
        "WPK306 fails: a needed permission is not granted; WPK307 warns on an unused one",
        k8s + """
              handlers:
                - {name: logs, action: 1️⃣logs, target: deployment/web}
                - {name: scale, action: 2️⃣scale, target: deployment/web, params: {replicas: 3}}
              validation:
                permissions: [deployments:get, deployments/scale:patch, 3️⃣pods:delete]
            """, [("1️⃣", "WPK306"), ("3️⃣", "WPK307")]),
    RuleCase(
        "WPK306 fails: no permissions section grants nothing",
        k8s + """
              handlers:
                - {name: show, action: 1️⃣get, target: pods}
            """, [("1️⃣", "WPK306")]),
    RuleCase(
        "WPK306/WPK307 pass: exactly what the steps need",
        k8s + """
              handlers:
                - {name: logs, action: logs, target: deployment/web}
                - {name: scale, action: scale, target: deployment/web, params: {replicas: 3}}
              validation:
                permissions: [deployments:get, pods:list, pods/log:get, deployments/scale:patch]
            """),
    // WPK308 destructive in auto mode.
    RuleCase(
        "WPK308 fails: auto mode deletes a pod without the allowance",
        k8s + """
              safety: {mode: auto}
              handlers:
                - {name: kill, action: 1️⃣delete-pod, target: pod/web-0}
              validation: {permissions: [pods:delete]}
            """, [("1️⃣", "WPK308")]),
    RuleCase(
        "WPK308 fails: the allowance written false counts as absent",
        k8s + """
              safety: {mode: auto, allow_destructive_in_auto: false}
              handlers:
                - {name: drain, action: 1️⃣drain, target: node/n1}
              validation: {permissions: [nodes:patch, pods/eviction:create]}
            """, [("1️⃣", "WPK308")]),
    RuleCase(
        "WPK308 passes: explicit allowance",
        k8s + """
              safety: {mode: auto, allow_destructive_in_auto: true}
              handlers:
                - {name: kill, action: delete-pod, target: pod/web-0}
              validation: {permissions: [pods:delete]}
            """),
    RuleCase(
        "WPK308 passes: manual mode (the default) gates it",
        k8s + """
              handlers:
                - {name: kill, action: delete-pod, target: pod/web-0}
              validation: {permissions: [pods:delete]}
            """),
    // WPK309, WPK310, WPK322, WPK324 limits.
    RuleCase(
        "WPK309 fails: a timeout over max_step_timeout, and a missing one whose default is",
        k8s + """
              handlers:
                - {name: wait, action: rollout-status, target: deployment/web, timeout: 1️⃣20m}
                - 2️⃣{name: show, action: get, target: deployment/web}
              validation:
                permissions: [deployments:get]
                limits: {max_step_timeout: 4m}
            """, [("1️⃣", "WPK309"), ("2️⃣", "WPK309")]),
    RuleCase(
        "WPK309 passes: timeouts within the limit",
        k8s + """
              handlers:
                - {name: wait, action: rollout-status, target: deployment/web, timeout: 4m}
              validation:
                permissions: [deployments:get]
                limits: {max_step_timeout: 4m}
            """),
    RuleCase(
        "WPK310 fails: more attempts than max_retry_attempts",
        k8s + """
              handlers:
                - name: show
                  action: get
                  target: pods
                  retry: {max_attempts: 1️⃣5, backoff: fixed, initial_delay: 5s}
              validation:
                permissions: [pods:list]
                limits: {max_retry_attempts: 3}
            """, [("1️⃣", "WPK310")]),
    RuleCase(
        "WPK310 passes: attempts at the limit",
        k8s + """
              handlers:
                - {name: show, action: get, target: pods, retry: {max_attempts: 3}}
              validation:
                permissions: [pods:list]
                limits: {max_retry_attempts: 3}
            """),
    RuleCase(
        "WPK322 fails: three attempts of 10m plus backoff exceed max_runtime 30m",
        k8s + """
              handlers:
                - name: wait
                  action: rollout-status
                  target: deployment/web
                  timeout: 10m
                  retry: {max_attempts: 3, backoff: exponential, initial_delay: 30s}
              validation:
                permissions: [deployments:get]
                limits: {max_runtime: 1️⃣30m}
            """, [("1️⃣", "WPK322")]),
    RuleCase(
        "WPK322 passes: 2 x 10m + 30s fits in 30m",
        k8s + """
              handlers:
                - name: wait
                  action: rollout-status
                  target: deployment/web
                  timeout: 10m
                  retry: {max_attempts: 2, initial_delay: 30s}
              validation:
                permissions: [deployments:get]
                limits: {max_runtime: 30m}
            """),
    RuleCase(
        "WPK324 fails: two mutated targets with max_targets 1",
        k8s + """
              handlers:
                - {name: restart-web, action: rollout-restart, target: deployment/web}
                - {name: restart-api, action: rollout-restart, target: 1️⃣deployment/api}
                - {name: show, action: get, target: deployment/db}
              validation:
                permissions: [deployments:patch, deployments:get]
                limits: {max_targets: 1}
            """, [("1️⃣", "WPK324")]),
    RuleCase(
        "WPK324 passes: the same target twice is one target",
        k8s + """
              handlers:
                - {name: restart-web, action: rollout-restart, target: deployment/web}
                - {name: annotate-web, action: annotate, target: deployment/web, params: {annotations: {a: b}}}
              validation:
                permissions: [deployments:patch]
                limits: {max_targets: 1}
            """),
    // WPK311, WPK312 schedules.
    RuleCase(
        "WPK311 fails: bad field, wrong field count, impossible date, unknown macro; WPK312 bad zones",
        k8s + """
              triggers:
                - {kind: schedule, cron: "0 1️⃣25 * * *", timezone: Europe/Berlin}
                - {kind: schedule, cron: 2️⃣"*/5 * * *"}
                - {kind: schedule, cron: "0 0 3️⃣30 2 *", timezone: 4️⃣Mars/Olympus}
                - {kind: schedule, cron: 5️⃣"@fortnightly", timezone: 6️⃣CET}
              handlers:
                - {name: show, action: get, target: pods}
              validation: {permissions: [pods:list]}
            """, [("1️⃣", "WPK311"), ("2️⃣", "WPK311"), ("3️⃣", "WPK311"), ("4️⃣", "WPK312"), ("5️⃣", "WPK311"), ("6️⃣", "WPK312")]),
    RuleCase(
        "WPK311/WPK312 pass: ranges, steps, names, macros, IANA zones",
        k8s + """
              triggers:
                - {kind: schedule, cron: "*/15 9-17 * * MON-FRI", timezone: America/New_York}
                - {kind: schedule, cron: "0 9 1 */3 *", timezone: UTC}
                - {kind: schedule, cron: "@daily"}
                - {kind: schedule, cron: "0 0 29 2 *", timezone: Etc/UTC}
              handlers:
                - {name: show, action: get, target: pods}
              validation: {permissions: [pods:list]}
            """),
    // WPK340, WPK341 invisible characters.
    RuleCase(
        "WPK340 WPK341 fail: an override in a target, an isolate in a description and a key",
        k8s + """
              handlers:
                - {name: show, description: "Shows 1️⃣\u{2067}the deployment", action: get, target: "deployment/2️⃣\u{202E}web"}
              validation: {permissions: [deployments:get]}
              x-note: {"3️⃣\u{200B}k": 1}
            """, [("1️⃣", "WPK341"), ("2️⃣", "WPK340"), ("3️⃣", "WPK341")]),
    RuleCase(
        "WPK340 WPK341 pass: joiners in a description, accented text in a target",
        k8s + """
              handlers:
                - {name: show, description: "👨\u{200D}👩\u{200D}👧 and Ünïcode", action: get, target: "deployment/café"}
              validation: {permissions: [deployments:get]}
            """),
    // WPK329 trigger inputs.
    RuleCase(
        "WPK329 fails: undeclared and secret inputs, wrong namespaces, unclosed, nested label",
        k8s + """
              inputs:
                - {name: deployment, type: string}
                - {name: key, type: string, secret: true, secret_ref: "env:KEY"}
              triggers:
                - kind: webhook
                  path: /hooks/x
                  inputs:
                    deployment: "${{ event.body.deployment }}"
                    1️⃣nothere: "${{ event.body.a }}"
                    2️⃣key: "${{ event.body.key }}"
                - kind: webhook
                  path: /hooks/y
                  inputs: {deployment: "3️⃣${{ inputs.deployment }}"}
                - kind: event
                  source: alertmanager
                  inputs: {deployment: "4️⃣${{ event.body.deployment }}"}
                - kind: event
                  source: alertmanager
                  inputs: {deployment: "5️⃣${{ event.labels.a.b }}"}
                - kind: webhook
                  path: /hooks/z
                  inputs: {deployment: "x-6️⃣${{ event.body.deployment"}
              handlers:
                - {name: show, action: get, target: "deployment/${{ inputs.deployment }}"}
              validation: {permissions: [deployments:get]}
            """, [("1️⃣", "WPK329"), ("2️⃣", "WPK329"), ("3️⃣", "WPK329"), ("4️⃣", "WPK329"), ("5️⃣", "WPK329"), ("6️⃣", "WPK329")]),
    RuleCase(
        "WPK329 passes: body paths, labels, annotations, literal text around references",
        k8s + """
              inputs:
                - {name: deployment, type: string}
                - {name: note, type: string}
              triggers:
                - kind: webhook
                  path: /hooks/x
                  inputs: {deployment: "${{ event.body.target.name }}", note: "from ${{ event.body.items.0 }}"}
                - kind: event
                  source: alertmanager
                  filter: {alertname: Down}
                  inputs: {deployment: "${{ event.labels.deployment }}", note: "${{ event.annotations.summary }}"}
              handlers:
                - {name: show, action: get, target: "deployment/${{ inputs.deployment }}"}
              validation: {permissions: [deployments:get]}
            """),
    // WPK313 secrets.
    RuleCase(
        "WPK313 fails: literal password, non-secret input as token, secret-looking input, AWS key",
        """
          runtime:
            type: docker
            docker: {}
          safety: {mode: manual}
          inputs:
            - {name: repo, type: string, default: s3:bucket}
            - {name: 1️⃣db_password, type: string}
          handlers:
            - name: run
              action: run
              target: registry.example.com/ops/tool:1.0
              params:
                env:
                  DB_PASSWORD: 2️⃣hunter2
                  API_TOKEN: 3️⃣${{ inputs.repo }}
                  NOTE: 4️⃣"key AKIAIOSFODNN7EXAMPLE"
                args: ["${{ inputs.db_password }}"]
          validation: {permissions: [docker:run]}
        """, [("1️⃣", "WPK313"), ("2️⃣", "WPK313"), ("3️⃣", "WPK313"), ("4️⃣", "WPK313")]),
    RuleCase(
        "WPK313 passes: secrets are references to secret inputs",
        """
          runtime:
            type: docker
            docker: {}
          safety: {mode: manual}
          inputs:
            - {name: db_password, type: string, secret: true, secret_ref: "vault:kv/db#password"}
          handlers:
            - name: run
              action: run
              target: registry.example.com/ops/tool:1.0
              params:
                env:
                  DB_PASSWORD: ${{ inputs.db_password }}
                  DB_PASSWORD_FILE: /run/secrets/db
          validation: {permissions: [docker:run]}
        """),
    // WPK331 a secret where it would be in an argument vector (issue 13, attack 5).
    RuleCase(
        "WPK331 fails: a secret in a URL, in docker run args, in a second vault-write field",
        """
          runtime:
            type: shell
            shell: {interpreter: /bin/sh}
            docker: {}
          inputs:
            - {name: db_password, type: string, secret: true, secret_ref: "env:DB_PASSWORD"}
          handlers:
            - {name: check, action: http-check, target: "https://x.example.com/?t=1️⃣${{ inputs.db_password }}"}
            - name: diag
              runtime: docker
              action: run
              target: registry.example.com/ops/diag:1.0
              params:
                args: [--password, "2️⃣${{ inputs.db_password }}"]
                env: {DB_PASSWORD: "${{ inputs.db_password }}"}
            - name: rotate
              action: vault-write
              target: database/creds/x
              params: {data: {password: "${{ inputs.db_password }}", zz_again: "x-3️⃣${{ inputs.db_password }}"}}
          validation: {permissions: [http:get, docker:run, vault:write]}
        """, [("1️⃣", "WPK331"), ("2️⃣", "WPK331"), ("3️⃣", "WPK331")]),
    RuleCase(
        "WPK331 passes: secrets in a script, docker run env and one vault-write field; plain inputs anywhere",
        """
          runtime:
            type: shell
            shell: {interpreter: /bin/sh}
            docker: {}
          inputs:
            - {name: db_password, type: string, secret: true, secret_ref: "env:DB_PASSWORD"}
            - {name: role, type: string}
          handlers:
            - {name: use, action: script, params: {script: 'echo "${{ inputs.db_password }}" | wc -c'}}
            - name: diag
              runtime: docker
              action: run
              target: registry.example.com/ops/diag:1.0
              params:
                args: [--role, "${{ inputs.role }}"]
                env: {DB_PASSWORD: "${{ inputs.db_password }}"}
            - name: rotate
              action: vault-write
              target: database/creds/${{ inputs.role }}
              params: {data: {password: "${{ inputs.db_password }}", role: "${{ inputs.role }}"}}
          validation: {permissions: [shell:exec, docker:run, vault:write]}
        """),
    // WPK314 YAML 1.1 scalars, in keys and values.
    RuleCase(
        "WPK314 warns: yes, off, 0755, 1:30",
        k8s + """
              handlers:
                - name: annotate
                  action: annotate
                  target: deployment/web
                  params:
                    annotations: {enabled: 1️⃣yes, 2️⃣off: x, mode: 3️⃣0755, at: 4️⃣1:30}
              validation: {permissions: [deployments:patch]}
            """, [("1️⃣", "WPK314"), ("2️⃣", "WPK314"), ("3️⃣", "WPK314"), ("4️⃣", "WPK314")]),
    RuleCase(
        "WPK314 passes: quoted, or true/false",
        k8s + """
              handlers:
                - name: annotate
                  action: annotate
                  target: deployment/web
                  params:
                    annotations: {enabled: "yes", "off": x, mode: "0755", at: "1:30", flag: "true"}
              validation: {permissions: [deployments:patch]}
            """),
    // WPK315, WPK323 images.
    RuleCase(
        "WPK315 warns on latest and untagged images; WPK323 on policy",
        """
          runtime:
            type: docker
            docker:
              image_policy: {allowed_registries: [registry.example.com/ops], require_digest: false}
          handlers:
            - {name: a, action: run, target: 1️⃣registry.example.com/ops/tool:latest}
            - {name: b, action: pull, target: 2️⃣registry.example.com/ops/tool}
            - {name: c, action: run, target: 3️⃣docker.io/library/busybox:1.36}
          validation: {permissions: [docker:run, docker:pull]}
        """, [("1️⃣", "WPK315"), ("2️⃣", "WPK315"), ("3️⃣", "WPK323")]),
    RuleCase(
        "WPK323 fails: a digest is required",
        """
          runtime:
            type: docker
            docker:
              host: "tcp://docker.internal:2376"
              image_policy: {require_digest: true}
          handlers:
            - {name: a, action: run, target: 1️⃣registry.example.com:5000/ops/tool:1.2}
          validation: {permissions: [docker:run]}
        """, [("1️⃣", "WPK323")]),
    RuleCase(
        "WPK315/WPK323 pass: tag and digest from an allowed registry (a port is no tag)",
        """
          runtime:
            type: docker
            docker:
              image_policy: {allowed_registries: ["registry.example.com:5000/ops"], require_digest: true}
          handlers:
            - {name: a, action: run, target: "registry.example.com:5000/ops/tool:1.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
          validation: {permissions: [docker:run]}
        """),
    // WPK316, WPK317 shell risks.
    RuleCase(
        "WPK316 and WPK317 warn inside a script",
        """
          runtime:
            type: shell
            shell: {interpreter: /bin/bash}
          handlers:
            - name: install
              action: script
              params:
                script: |
                  set -eu
                  1️⃣curl -fsSL https://get.example.com/install.sh | sudo bash
                  2️⃣bash <(wget -qO- https://get.example.com/x.sh)
                  3️⃣rm -rf "$WORKDIR"/cache
                  4️⃣rm -fr ${{ inputs.dir }}/tmp
          inputs:
            - {name: dir, type: string}
          validation: {permissions: [shell:exec]}
        """, [("1️⃣", "WPK316"), ("2️⃣", "WPK316"), ("3️⃣", "WPK317"), ("4️⃣", "WPK317")]),
    RuleCase(
        "WPK316/WPK317 pass: download to a file; guarded or assigned variables",
        """
          runtime:
            type: shell
            shell: {interpreter: /bin/bash}
          handlers:
            - name: install
              action: script
              params:
                script: |
                  set -eu
                  curl -fsSL -o /tmp/install.sh https://get.example.com/install.sh
                  sha256sum -c install.sh.sha256
                  rm -rf "${WORKDIR:?}"/cache
                  CACHE=/var/cache/tool
                  rm -rf "$CACHE"/old
                  rm -rf ${{ inputs.dir }}/tmp
                  rm -f "$MAYBE"
          inputs:
            - {name: dir, type: string, required: true}
          validation: {permissions: [shell:exec]}
        """),
    // WPK318-WPK321 actions.
    RuleCase(
        "WPK318 fails: unknown action, and an action of another runtime",
        k8s + """
              handlers:
                - {name: a, action: 1️⃣rollout-restrat, target: deployment/web}
                - {name: b, action: 2️⃣http-check, target: "https://example.com"}
              validation: {permissions: []}
            """, [("1️⃣", "WPK318"), ("2️⃣", "WPK318")]),
    RuleCase(
        "WPK319 fails: unknown param, missing required, wrong types",
        k8s + """
              handlers:
                - {name: logs, action: logs, target: deployment/web, params: {1️⃣lines: 20, tail: 2️⃣many, previous: 3️⃣"yes please"}}
                - {name: scale, action: scale, target: deployment/web, params: 4️⃣{}}
              validation: {permissions: [deployments:get, pods:list, pods/log:get, deployments/scale:patch]}
            """, [("1️⃣", "WPK319"), ("2️⃣", "WPK319"), ("3️⃣", "WPK319"), ("4️⃣", "WPK319")]),
    RuleCase(
        "WPK318/WPK319 pass: known actions and params, a reference where an integer goes",
        k8s + """
              inputs:
                - {name: replicas, type: integer, required: true}
              handlers:
                - {name: logs, action: logs, target: deployment/web, params: {tail: 20, previous: true}}
                - {name: scale, action: scale, target: deployment/web, params: {replicas: "${{ inputs.replicas }}"}}
              validation: {permissions: [deployments:get, pods:list, pods/log:get, deployments/scale:patch]}
            """),
    RuleCase(
        "WPK320 fails: a shell step without spec.runtime.shell",
        k8s + """
              handlers:
                - {name: health, runtime: 1️⃣shell, action: http-check, target: "https://example.com/healthz"}
              validation: {permissions: [http:get]}
            """, [("1️⃣", "WPK320")]),
    RuleCase(
        "WPK320 passes: the shell requirements are there",
        """
          runtime:
            type: k8s
            k8s: {context: prod, namespace: web}
            shell: {interpreter: /bin/sh}
          handlers:
            - {name: health, runtime: shell, action: http-check, target: "https://example.com/healthz"}
          validation: {permissions: [http:get]}
        """),
    RuleCase(
        "WPK321 fails: missing target, kind without name, wrong kind, not a URL",
        """
          handlers:
            - 1️⃣{name: a, action: rollout-restart}
            - {name: b, action: rollout-restart, target: 2️⃣deployments}
            - {name: c, action: cordon, target: 3️⃣pod/web-0}
            - {name: d, runtime: shell, action: http-check, target: 4️⃣example.com/healthz}
          runtime:
            type: k8s
            k8s: {context: prod, namespace: web}
            shell: {}
          validation: {permissions: [deployments:patch, nodes:patch, http:get]}
        """, [("1️⃣", "WPK321"), ("2️⃣", "WPK321"), ("3️⃣", "WPK321"), ("4️⃣", "WPK321")]),
    RuleCase(
        "WPK321 passes: kind/name targets, a kind alone for get",
        k8s + """
              handlers:
                - {name: a, action: rollout-restart, target: deployment/web}
                - {name: b, action: get, target: pods, params: {selector: app=web}}
                - {name: c, action: cordon, target: node/n1}
              validation: {permissions: [deployments:patch, pods:list, nodes:patch]}
            """),
    // WPK326 input defaults.
    RuleCase(
        "WPK326 fails: defaults of the wrong type or out of range",
        k8s + """
              inputs:
                - {name: replicas, type: integer, default: 1️⃣"six"}
                - {name: ratio, type: integer, default: 2️⃣0.5}
                - {name: surge, type: integer, default: 3️⃣50, minimum: 1, maximum: 10}
                - {name: floor, type: number, default: 4️⃣-1, minimum: 0}
                - {name: force, type: boolean, default: 5️⃣"false"}
              handlers:
                - {name: show, action: get, target: pods}
              validation: {permissions: [pods:list]}
            """, [("1️⃣", "WPK326"), ("2️⃣", "WPK326"), ("3️⃣", "WPK326"), ("4️⃣", "WPK326"), ("5️⃣", "WPK326")]),
    RuleCase(
        "WPK326 passes: defaults that fit",
        k8s + """
              inputs:
                - {name: replicas, type: integer, default: 6, minimum: 2, maximum: 40}
                - {name: ratio, type: number, default: 0.5, maximum: 1}
                - {name: force, type: boolean, default: false}
                - {name: name, type: string, default: web}
              handlers:
                - {name: show, action: get, target: pods}
              validation: {permissions: [pods:list]}
            """),
    // WPK327 rollback promised but impossible; WPK328 destructive without approval.
    RuleCase(
        "WPK327 warns: on_failure rollback with nothing to undo",
        k8s + """
              handlers:
                - {name: restart, action: rollout-restart, target: deployment/web, on_failure: 1️⃣rollback}
                - {name: scale, action: scale, target: deployment/web, params: {replicas: 3}, on_failure: rollback}
              rollback:
                - {name: unscale, undoes: scale, action: scale, target: deployment/web, params: {replicas: 2}}
              validation: {permissions: [deployments:patch, deployments/scale:patch]}
            """, [("1️⃣", "WPK327")]),
    RuleCase(
        "WPK327 passes: a rollback step undoes an earlier handler",
        k8s + """
              handlers:
                - {name: restart, action: rollout-restart, target: deployment/web}
                - {name: wait, action: rollout-status, target: deployment/web, on_failure: rollback}
              rollback:
                - {name: undo, undoes: restart, action: rollout-undo, target: deployment/web}
              validation: {permissions: [deployments:patch, deployments:get]}
            """),
    RuleCase(
        "WPK328 fails: a destructive step opts out of approval under gate: destructive; a mutating one may",
        k8s + """
              handlers:
                - {name: kill, action: delete-pod, target: pod/web-0, requires_approval: 1️⃣false}
                - {name: restart, action: rollout-restart, target: deployment/web, requires_approval: false}
              validation: {permissions: [pods:delete, deployments:patch]}
            """, [("1️⃣", "WPK328")], gateFloor: .destructive),
    RuleCase(
        "WPK328 passes: destructive steps keep their approval",
        k8s + """
              handlers:
                - {name: kill, action: delete-pod, target: pod/web-0, requires_approval: true}
                - {name: kill-again, action: delete-pod, target: pod/web-1}
              validation: {permissions: [pods:delete]}
            """),
    // WPK330 a mutating step opts out of approval under the default gate: mutating.
    RuleCase(
        "WPK330 fails: drain, delete and apply opt out of approval under gate: mutating (attack 4)",
        k8s + """
              handlers:
                - {name: drain, action: drain, target: node/n1, requires_approval: 1️⃣false}
                - {name: kill, action: delete-pod, target: pod/web-0, requires_approval: 2️⃣false}
                - {name: apply, action: apply-manifest, target: deployment/web, params: {file: web.yaml}, requires_approval: 3️⃣false}
                - {name: look, action: get, target: pods, requires_approval: false}
              rollback:
                - {name: undo, undoes: apply, action: rollout-undo, target: deployment/web, requires_approval: 4️⃣false}
              validation: {permissions: [nodes:patch, pods/eviction:create, pods:delete, deployments:patch, deployments:create, pods:list]}
            """, [("1️⃣", "WPK328"), ("2️⃣", "WPK328"), ("3️⃣", "WPK330"), ("4️⃣", "WPK330")]),
    RuleCase(
        "WPK330 passes: reads may opt out, and auto mode has no gates to opt out of",
        """
          runtime:
            type: k8s
            k8s: {context: prod, namespace: web}
          safety: {mode: auto}
          handlers:
            - {name: look, action: get, target: pods, requires_approval: false}
            - {name: restart, action: rollout-restart, target: deployment/web, requires_approval: false}
          validation: {permissions: [pods:list, deployments:patch]}
        """),
    // WPK325 duplicate inputs.
    RuleCase(
        "WPK325 fails: an input declared twice",
        k8s + """
              inputs:
                - {name: deployment, type: string}
                - {name: 1️⃣deployment, type: string}
              handlers:
                - {name: show, action: get, target: "deployment/${{ inputs.deployment }}"}
              validation: {permissions: [deployments:get]}
            """, [("1️⃣", "WPK325")]),
    RuleCase(
        "WPK325 passes: distinct inputs",
        k8s + """
              inputs:
                - {name: deployment, type: string}
                - {name: namespace_hint, type: string}
              handlers:
                - {name: show, action: get, target: "deployment/${{ inputs.deployment }}"}
              validation: {permissions: [deployments:get]}
            """),
]

@Suite struct PlaybookRulesTests {
    @Test(arguments: ruleCases) func ruleCase(_ c: RuleCase) throws {
        let marked = MarkedText(c.document)
        let document = try YAMLLoader.load(marked.text)
        let diagnostics = PlaybookRules.check(document: document, gateFloor: c.gateFloor)
        let actual = diagnostics.map { "\($0.code)@\($0.mark?.line ?? 0):\($0.mark?.column ?? 0)" }
        let expected = c.expected.map { e -> String in
            let position = marked.markers[e.marker]
            return "\(e.code)@\(position?.line ?? -1):\(position?.column ?? -1)"
        }
        #expect(
            actual.sorted() == expected.sorted(),
            "\(diagnostics.map { "\($0.mark?.description ?? "-") \($0.code) \($0.message)" }.joined(separator: "\n"))")
        for d in diagnostics {
            #expect(d.source == .rule)
            #expect(d.severity == PlaybookRules.rule(code: d.code)?.severity)
            // The pointer must lead to a node of the document.
            #expect(document.root.resolve(pointer: d.pointer) != nil, "\(d.code) pointer \(d.pointer)")
        }
    }

    /// Every rule has a failing and a passing case in the table above.
    @Test func everyRuleHasAFailingAndAPassingCase() {
        for rule in PlaybookRules.all {
            #expect(ruleCases.contains { c in c.expected.contains { $0.code == rule.code } }, "no failing case for \(rule.code)")
            #expect(ruleCases.contains { c in c.expected.isEmpty && c.name.contains(rule.code) }, "no passing case for \(rule.code)")
        }
    }

    @Test func codesAreUniqueAndInTheRuleRange() {
        let codes = PlaybookRules.all.map(\.code)
        #expect(Set(codes).count == codes.count)
        #expect(codes.allSatisfy { $0.hasPrefix("WPK3") && $0.count == 6 })
    }

    /// A half-broken file (wrong types everywhere) yields values, never a crash.
    @Test func mistypedFieldsAreAbsentNotFatal() throws {
        let document = try YAMLLoader.load(
            """
            apiVersion: 3
            metadata: [1, 2]
            spec:
              runtime: k8s
              safety: {mode: sometimes, approvals_required: many}
              inputs: {name: x}
              handlers:
                - 42
                - {name: [a], action: {x: 1}, depends_on: b, retry: {max_attempts: 99999999999999999999}}
                - {name: ok, depends_on: [1, ok], timeout: -5m, retry: {max_attempts: 1000000}}
              rollback: "no"
              validation: {permissions: {a: b}, limits: {max_runtime: 10}}
            """)
        let playbook = Playbook(root: document.root)
        #expect(playbook.handlers.count == 3)
        #expect(playbook.safety.effectiveMode == .manual)
        #expect(playbook.handlers[2].attempts == 1000)
        _ = PlaybookRules.check(document: document)
    }
}

/// Hostile sizes: the rules stay linear (a quadratic pass would not finish this suite).
@Suite struct PlaybookRulesScaleTests {
    @Test func manyHandlersInOneLongCycleWithUnknownReferences() throws {
        let n = 20_000
        var text = "spec:\n  runtime: {type: k8s, k8s: {context: c, namespace: n}}\n  handlers:\n"
        for i in 0..<n {
            text +=
                "    - {name: h\(i), action: rollout-restart, target: \"deployment/d\(i)-${{ inputs.x\(i) }}\", depends_on: [h\((i + 1) % n), nope\(i)]}\n"
        }
        text += "  validation: {limits: {max_targets: 3}}\n"
        let diagnostics = PlaybookRules.check(document: try YAMLLoader.load(text))
        #expect(diagnostics.filter { $0.code == "WPK304" }.count == 1)
        #expect(diagnostics.filter { $0.code == "WPK302" }.count == n)
        #expect(diagnostics.filter { $0.code == "WPK305" }.count == n)
        #expect(diagnostics.filter { $0.code == "WPK324" }.count == 1)
    }

    @Test func aHugeScriptWithManyFindings() throws {
        var script = ""
        for i in 0..<20_000 { script += "          rm -rf \"$D\(i)\"/x; curl -s https://x/\(i) | sh; echo ${{ inputs.y }}\n" }
        let text =
            "spec:\n  runtime: {type: shell, shell: {}}\n  handlers:\n    - name: s\n      action: script\n      params:\n        script: |\n"
            + script
        let diagnostics = PlaybookRules.check(document: try YAMLLoader.load(text))
        #expect(diagnostics.filter { $0.code == "WPK317" }.count == 20_000)
        #expect(diagnostics.filter { $0.code == "WPK316" }.count == 20_000)
        #expect(diagnostics.filter { $0.code == "WPK305" }.count == 20_000)
        // Positions stay exact deep into the block.
        let last = try #require(diagnostics.last { $0.code == "WPK305" })
        #expect(last.mark?.line == 8 + 19_999)
    }
}
