export { startControlPlane, type RunningControlPlane, type StartControlPlaneOptions } from "./start-control-plane.js";
export { ControlPlaneConfig, type AdminToken, type AdminAccess, type SecretKeysConfig } from "./config/control-plane-config.js";
export { loadControlPlaneConfig, controlPlaneEnvPrefix } from "./config/load-control-plane-config.js";
export {
  applyDeclaration,
  formatApplyResult,
  loadDeclarationFile,
  type ApplyDeclarationOptions,
  type ApplyResult,
  type AppliedChange,
} from "./apply/apply-declaration.js";
export { DeclarationFile } from "./apply/declaration-file.js";
export { ControlPlaneReadModel } from "./projections/control-plane-read-model.js";
export { UsageReadModel, evolveUsage, type UsageCounts } from "./projections/usage-read-model.js";
export { CommandHandler } from "./application/command-handler.js";
export { planDecider } from "./domain/plan/plan-decider.js";
export { consumerDecider } from "./domain/consumer/consumer-decider.js";
export { credentialDecider } from "./domain/credential/credential-decider.js";
export { subscriptionDecider } from "./domain/subscription/subscription-decider.js";
export { routeDecider } from "./domain/route/route-decider.js";
export type { Consumer } from "./domain/consumer/evolve-consumer.js";
export type { Route } from "./domain/route/evolve-route.js";
export { problems, type ProblemType } from "./errors/problem-catalog.js";
export { ControlPlaneError } from "./errors/control-plane-error.js";
export { systemClock, fixedClock, type Clock } from "./runtime/clock.js";
export { randomIds, sequentialIds, type IdGenerator } from "./runtime/id-generator.js";
// The credential functions and the entity folds moved to @tollgate/credentials, which the
// gateway shares; they are re-exported so that this package's API stays what it was.
export {
  type ApiKeyCredential,
  type ApiKeyVersion,
  type Credential,
  defaultScryptParameters,
  displayPrefixOf,
  type Entropy,
  generateApiKey,
  type GeneratedApiKey,
  hashApiKey,
  hashPassword,
  isWellFormedApiKey,
  type Plan,
  type ScryptParameters,
  SecretBox,
  type SecretKeyRing,
  type Subscription,
  type SubscriptionStatus,
  systemEntropy,
  UnknownSecretKeyError,
  verifyPassword,
} from "@tollgate/credentials";
