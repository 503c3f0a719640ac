// Validates ResourceSlices with the validators kubernetes-models generates from Kubernetes'
// published OpenAPI specification (its resource.k8s.io/v1 carries Kubernetes 1.35's rules:
// "Only one of Devices and SharedCounters can be set", at most 8 counter sets).
//
//   node validate.mjs FILE...
//
// A FILE is a JSON ResourceSlice or a JSON `List` of them (`vgpuctl --json export --format
// dra`). Prints "ok: N ResourceSlices" and exits 0, or each error (file, item, path, message)
// and exits 1. Exits 2 when kubernetes-models is not installed (scripts/bootstrap.sh runs
// `npm ci` here). The OpenAPI schema checks types and required fields; the API's limits and
// naming rules are checked by ../schemas/resource-slice-v1.schema.json and dra_test.cpp.
import { readFileSync } from "node:fs";

let ResourceSlice;
try {
  ({ ResourceSlice } = await import("kubernetes-models/resource.k8s.io/v1/ResourceSlice"));
} catch (e) {
  console.error(`validate.mjs: ${e.message.split("\n")[0]}; run scripts/bootstrap.sh ` +
                "(it runs npm ci in tests/formats/k8s)");
  process.exit(2);
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs FILE...");
  process.exit(2);
}
let count = 0;
let errors = 0;
for (const file of files) {
  const doc = JSON.parse(readFileSync(file, "utf8"));
  const items = doc.kind === "List" ? doc.items : [doc];
  items.forEach((item, i) => {
    count++;
    if (item.kind !== "ResourceSlice" || item.apiVersion !== "resource.k8s.io/v1") {
      errors++;
      console.log(`${file}: item ${i}: not a resource.k8s.io/v1 ResourceSlice`);
      return;
    }
    try {
      new ResourceSlice(item).validate();
    } catch (e) {
      errors++;
      console.log(`${file}: item ${i}: ${e.message}`);
    }
  });
}
if (errors > 0) process.exit(1);
console.log(`ok: ${count} ResourceSlices`);
