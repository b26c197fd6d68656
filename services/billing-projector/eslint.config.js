export { default } from "@tollgate/lint-config";
