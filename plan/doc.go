// Package plan reads recovery plans written as YAML files ("plans as
// code"), validates them, builds the graph of their steps and resolves their
// protection groups into concrete source servers.
//
// A plan file declares targets (where DRS is called), protection groups
// (named sets of source servers in one target) and plans (graphs of steps):
//
//	targets:
//	  - name: prod
//	    account: "111122223333"
//	    region: us-east-1
//	    # roleArn, externalId, endpoint: optional
//	protectionGroups:
//	  - name: orders-db
//	    target: prod
//	    selector: {Application: orders, Tier: database}  # and/or
//	    servers: [s-3c1730a9e0771ea14]
//	plans:
//	  - name: orders
//	    rto: 30m                 # optional
//	    rpo: 5m                  # optional
//	    failurePolicy: stop      # stop (default), pause or continue
//	    conflictDeadline: 15m    # the default
//	    stepTimeout: 1h          # optional
//	    waves:                   # each wave is after the previous one
//	      - name: database
//	        groups: [orders-db]
//	      - name: app
//	        groups: [orders-app]
//	        servers: [{id: s-3afa164776f93ce4f, optional: true}]
//	    steps:                   # and/or any graph, with after:
//	      - name: settle
//	        kind: wait
//	        duration: 2m
//	        after: [database]
//
// A step's kind is launch (the default) or wait; approval, hook and check are
// reserved and rejected for now. Waves and steps are the same thing: a wave
// is a step that is also after the wave before it. docs/plans.md describes
// every key.
//
// [Decode] reads a file and returns it as the root package's types
// ([ripcord.PlanFile]) with defaults applied, or an [ErrorList]: every
// problem found, each with its file:line:column and a fix, sorted by
// position. [Validate] applies the same rules to a file built in code.
// [NewGraph] gives a plan's steps in dependency order and the dependents of
// each. [Resolve] turns launch steps into source server lists, given the
// servers of each target; it makes no calls, so the caller lists the
// servers and freezes the result into the execution. [Schema] is a JSON
// Schema of the format for editors, generated from the key lists the decoder
// itself uses.
package plan
