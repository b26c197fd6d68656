import type { Credential } from "@tollgate/credentials";
import type { CredentialEvent, JwtIdentityMatch, ScryptPasswordHash, SealedSecret } from "@tollgate/events";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import { problems } from "../../errors/problem-catalog.js";
import type { Consumer } from "../consumer/evolve-consumer.js";
import type { DecisionContext } from "../decider.js";

/** The longest overlap a rotation may grant the previous key. */
export const maxRotationOverlapSeconds = 30 * 86_400;

interface NewCredential {
  credentialId: string;
  /** The owning consumer as the read model holds it; null when it does not exist. */
  consumer: Consumer | null;
  consumerId: string;
}

export type CredentialCommand =
  | (NewCredential & { type: "IssueApiKey"; keyId: string; name: string; prefix: string; hash: string; expiresAt: string | null })
  | {
      type: "RotateApiKey";
      credentialId: string;
      keyId: string;
      prefix: string;
      hash: string;
      expiresAt: string | null;
      /** How long the current key stays valid after the rotation. */
      overlapSeconds: number;
    }
  | (NewCredential & {
      type: "MapJwtIdentity";
      issuer: string;
      match: JwtIdentityMatch;
      /** Another live credential already mapping the same issuer and identity, if any. */
      conflictingCredentialId: string | null;
    })
  | (NewCredential & {
      type: "CreateBasicUser";
      username: string;
      passwordHash: ScryptPasswordHash;
      /** Another live Basic user with the same username, if any. */
      conflictingCredentialId: string | null;
    })
  | { type: "ChangeBasicPassword"; credentialId: string; passwordHash: ScryptPasswordHash }
  | (NewCredential & { type: "IssueHmacSecret"; name: string; secret: SealedSecret })
  | { type: "ReencryptHmacSecret"; credentialId: string; secret: SealedSecret }
  | { type: "RevokeCredential"; credentialId: string; reason: string | null };

export function decideCredential(command: CredentialCommand, state: Credential | null, context: DecisionContext): CredentialEvent[] {
  const { actor, now } = context;
  switch (command.type) {
    case "IssueApiKey": {
      checkNew(command, state);
      checkExpiry(command.expiresAt, now);
      const { credentialId, consumerId, keyId, name, prefix, hash, expiresAt } = command;
      return [{ type: "ApiKeyIssued", version: 1, data: { credentialId, consumerId, keyId, name, prefix, hash, expiresAt, actor } }];
    }

    case "RotateApiKey": {
      const credential = active(state, command.credentialId);
      if (credential.kind !== "api-key") throw wrongKind(credential, "rotated");
      if (!Number.isInteger(command.overlapSeconds) || command.overlapSeconds < 0 || command.overlapSeconds > maxRotationOverlapSeconds) {
        throw new ControlPlaneError(problems.invalidRequest, `overlapSeconds must be an integer from 0 to ${maxRotationOverlapSeconds}`);
      }
      checkExpiry(command.expiresAt, now);
      const previous = credential.keys.at(-1)!;
      // The overlap can shorten the previous key's life, never extend it.
      let previousEnd = now.getTime() + command.overlapSeconds * 1_000;
      if (previous.expiresAt !== null) previousEnd = Math.min(previousEnd, Date.parse(previous.expiresAt));
      const { credentialId, keyId, prefix, hash, expiresAt } = command;
      return [
        {
          type: "ApiKeyRotated",
          version: 1,
          data: {
            credentialId,
            consumerId: credential.consumerId,
            keyId,
            prefix,
            hash,
            expiresAt,
            previousKeyId: previous.keyId,
            previousKeyExpiresAt: new Date(previousEnd).toISOString(),
            actor,
          },
        },
      ];
    }

    case "MapJwtIdentity": {
      checkNew(command, state);
      checkUnique(command.conflictingCredentialId, `issuer "${command.issuer}" and this identity are already mapped`);
      const { credentialId, consumerId, issuer, match } = command;
      return [{ type: "JwtIdentityMapped", version: 1, data: { credentialId, consumerId, issuer, match, actor } }];
    }

    case "CreateBasicUser": {
      checkNew(command, state);
      checkUnique(command.conflictingCredentialId, `username "${command.username}" is taken`);
      const { credentialId, consumerId, username, passwordHash } = command;
      return [{ type: "BasicUserCreated", version: 1, data: { credentialId, consumerId, username, passwordHash, actor } }];
    }

    case "ChangeBasicPassword": {
      const credential = active(state, command.credentialId);
      if (credential.kind !== "basic") throw wrongKind(credential, "given a password");
      const { credentialId, passwordHash } = command;
      return [{ type: "BasicPasswordChanged", version: 1, data: { credentialId, consumerId: credential.consumerId, passwordHash, actor } }];
    }

    case "IssueHmacSecret": {
      checkNew(command, state);
      const { credentialId, consumerId, name, secret } = command;
      return [{ type: "HmacSecretIssued", version: 1, data: { credentialId, consumerId, name, secret, actor } }];
    }

    case "ReencryptHmacSecret": {
      const credential = active(state, command.credentialId);
      if (credential.kind !== "hmac") throw wrongKind(credential, "re-encrypted");
      if (credential.secret.keyId === command.secret.keyId) return [];
      const data = {
        credentialId: command.credentialId,
        consumerId: credential.consumerId,
        secret: command.secret,
        previousKeyId: credential.secret.keyId,
        actor,
      };
      return [{ type: "HmacSecretReencrypted", version: 1, data }];
    }

    case "RevokeCredential": {
      if (!state) throw notFound(command.credentialId);
      if (state.status === "revoked") return [];
      const data = { credentialId: state.credentialId, consumerId: state.consumerId, actor };
      switch (state.kind) {
        case "api-key":
          return [{ type: "ApiKeyRevoked", version: 1, data: { ...data, reason: command.reason } }];
        case "jwt":
          return [{ type: "JwtIdentityUnmapped", version: 1, data }];
        case "basic":
          return [{ type: "BasicUserRemoved", version: 1, data }];
        case "hmac":
          return [{ type: "HmacSecretRevoked", version: 1, data }];
      }
    }
  }
}

function checkNew(command: NewCredential, state: Credential | null): void {
  if (state) throw new ControlPlaneError(problems.alreadyExists, `credential "${command.credentialId}" already exists`);
  if (!command.consumer) throw new ControlPlaneError(problems.invalidReference, `consumer "${command.consumerId}" does not exist`);
}

function checkUnique(conflictingCredentialId: string | null, detail: string): void {
  if (conflictingCredentialId !== null) {
    throw new ControlPlaneError(problems.alreadyExists, detail, { conflictingCredentialId });
  }
}

function checkExpiry(expiresAt: string | null, now: Date): void {
  if (expiresAt !== null && Date.parse(expiresAt) <= now.getTime()) {
    throw new ControlPlaneError(problems.invalidRequest, "expiresAt must be in the future", {
      issues: [{ path: "expiresAt", message: "must be in the future" }],
    });
  }
}

function active(state: Credential | null, credentialId: string): Credential {
  if (!state) throw notFound(credentialId);
  if (state.status === "revoked") throw new ControlPlaneError(problems.invalidState, `credential "${credentialId}" is revoked`);
  return state;
}

function notFound(credentialId: string): ControlPlaneError {
  return new ControlPlaneError(problems.notFound, `credential "${credentialId}" does not exist`);
}

function wrongKind(credential: Credential, action: string): ControlPlaneError {
  return new ControlPlaneError(problems.invalidState, `credential "${credential.credentialId}" is a ${credential.kind} credential and cannot be ${action}`);
}
