import { type Credential, evolveCredential } from "@tollgate/credentials";
import { credentialEventTypes, streamCategories, type CredentialEvent } from "@tollgate/events";
import type { Decider } from "../decider.js";
import { decideCredential, type CredentialCommand } from "./decide-credential.js";

export const credentialDecider: Decider<CredentialCommand, Credential | null, CredentialEvent> = {
  category: streamCategories.credential,
  eventTypes: credentialEventTypes,
  initialState: null,
  evolve: evolveCredential,
  decide: decideCredential,
};
