// Validates the Kubernetes objects of deploy/hub-stress-test-job.sh (YAML on stdin) against the
// Kubernetes API schemas (kubernetes-models), without a cluster, and checks what the tool needs of
// them. Usage: node validate.mjs SHARDS < job.yaml. Prints one line per object; exits 1 on the first
// problem, naming it.
import { Job } from "kubernetes-models/batch/v1";
import { parseAllDocuments } from "yaml";
import { readFileSync } from "node:fs";

const shards = Number(process.argv[2]);
const docs = parseAllDocuments(readFileSync(0, "utf8"));
const fail = (why) => {
  console.error(`validate: ${why}`);
  process.exit(1);
};
if (docs.length === 0) fail("no object on stdin");
for (const doc of docs) {
  if (doc.errors.length > 0) fail(`not YAML: ${doc.errors[0].message}`);
  const obj = doc.toJS();
  if (obj.kind !== "Job" || obj.apiVersion !== "batch/v1") fail(`unexpected object ${obj.apiVersion} ${obj.kind}`);
  try {
    new Job(obj).validate();
  } catch (e) {
    fail(`Job ${obj.metadata?.name}: ${e.message}`);
  }
  const spec = obj.spec;
  const pod = spec.template.spec;
  const [container] = pod.containers;
  const args = container.args;
  const after = (flag) => args[args.indexOf(flag) + 1];
  const checks = [
    [spec.completionMode === "Indexed", "completionMode is Indexed (JOB_COMPLETION_INDEX is each pod's shard)"],
    [spec.completions === shards && spec.parallelism === shards, `completions and parallelism are ${shards}: every shard at once`],
    [spec.backoffLimitPerIndex === 0, "backoffLimitPerIndex is 0: a shard never runs twice"],
    [spec.maxFailedIndexes === shards, "maxFailedIndexes is the shards: one failed shard does not stop the others"],
    [pod.restartPolicy === "Never", "restartPolicy is Never"],
    [after("--shards") === String(shards), `--shards ${shards} is in the arguments`],
    [/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(after("--start-at") ?? ""), "--start-at is a UTC time"],
    [Date.parse(after("--start-at")) > Date.now(), "--start-at is in the future"],
    [!args.some((a, i) => ["--json", "-t", "--token"].includes(a) && !["--code", "--expect"].includes(args[i - 1])), "no --json or token in the arguments"],
    [container.env.some((e) => e.name === "JUPYTERHUB_API_TOKEN" && e.valueFrom?.secretKeyRef?.key === "token"),
      "the token comes from a Secret"],
    [container.env.some((e) => e.name === "JUPYTERHUB_ENDPOINT" && e.value), "JUPYTERHUB_ENDPOINT is set"],
    [pod.terminationGracePeriodSeconds >= 300, "a SIGTERM leaves time to clean up"],
  ];
  for (const [ok, what] of checks) if (!ok) fail(`Job ${obj.metadata.name}: expected ${what}`);
  console.log(`valid: Job ${obj.metadata.name}, ${shards} shards, args ${JSON.stringify(args)}`);
}
