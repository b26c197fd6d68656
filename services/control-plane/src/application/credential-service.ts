import {
  constantTimeEqual,
  generateApiKey,
  generateHmacSecret,
  hashApiKey,
  hashPassword,
  isWellFormedApiKey,
  liveApiKeys,
  type SecretBox,
} from "@tollgate/credentials";
import type { JwtIdentityMatch } from "@tollgate/events";
import { credentialDecider } from "../domain/credential/credential-decider.js";
import type { CredentialCommand } from "../domain/credential/decide-credential.js";
import { ControlPlaneError } from "../errors/control-plane-error.js";
import { problems } from "../errors/problem-catalog.js";
import { credentialView, type CredentialView } from "./entity-views.js";
import { loadEntityRecord } from "./load-entity-record.js";
import { notFound, readAfterWrite, type ServiceContext, type WriteOptions } from "./service-context.js";
import type { SelfServiceScope } from "./subscription-service.js";

/** A credential together with the secret created for it. The secret is in this answer only, never again. */
export interface IssuedSecret {
  credential: CredentialView;
  secret: string;
}

export interface AuthenticatedKey {
  consumerId: string;
  credentialId: string;
  keyId: string;
}

export interface SecretKeyUsage {
  currentKeyId: string | null;
  configuredKeyIds: string[];
  /** Live HMAC secrets by the id of the key that sealed them. A key still listed here must stay configured. */
  secretsByKeyId: Record<string, number>;
}

export interface ReencryptionReport {
  reencrypted: string[];
  failed: { credentialId: string; reason: string }[];
}

export class CredentialService {
  constructor(private readonly context: ServiceContext) {}

  list(consumerId?: string): CredentialView[] {
    const now = this.context.clock.now();
    return this.context.readModel.listCredentials(consumerId).map((record) => credentialView(record, now));
  }

  async get(credentialId: string, asOf?: Date, scope?: SelfServiceScope): Promise<CredentialView> {
    const record = asOf
      ? await loadEntityRecord(this.context.store, credentialDecider, credentialId, asOf)
      : this.context.readModel.credential(credentialId);
    if (!record || (scope && record.state.consumerId !== scope.consumerId)) throw notFound("credential", credentialId);
    return credentialView(record, asOf ?? this.context.clock.now());
  }

  async issueApiKey(
    input: { consumerId: string; credentialId?: string; name: string; expiresAt: string | null },
    options: WriteOptions,
  ): Promise<IssuedSecret> {
    const credentialId = input.credentialId ?? this.context.ids.entityId("cred");
    const generated = generateApiKey(this.context.entropy);
    const credential = await this.#execute(
      credentialId,
      {
        type: "IssueApiKey",
        credentialId,
        consumerId: input.consumerId,
        consumer: this.context.readModel.consumer(input.consumerId)?.state ?? null,
        keyId: this.context.ids.entityId("key"),
        name: input.name,
        prefix: generated.prefix,
        hash: generated.hash,
        expiresAt: normalizeTime(input.expiresAt),
      },
      options,
    );
    return { credential, secret: generated.key };
  }

  async rotateApiKey(
    credentialId: string,
    input: { overlapSeconds: number; expiresAt: string | null },
    options: WriteOptions,
  ): Promise<IssuedSecret> {
    const generated = generateApiKey(this.context.entropy);
    const credential = await this.#execute(
      credentialId,
      {
        type: "RotateApiKey",
        credentialId,
        keyId: this.context.ids.entityId("key"),
        prefix: generated.prefix,
        hash: generated.hash,
        expiresAt: normalizeTime(input.expiresAt),
        overlapSeconds: input.overlapSeconds,
      },
      options,
    );
    return { credential, secret: generated.key };
  }

  revoke(credentialId: string, reason: string | null, options: WriteOptions, scope?: SelfServiceScope): Promise<CredentialView> {
    if (scope) {
      // A consumer may revoke its own API keys only; anything else looks missing to it.
      const record = this.context.readModel.credential(credentialId);
      if (!record || record.state.consumerId !== scope.consumerId || record.state.kind !== "api-key") throw notFound("credential", credentialId);
    }
    return this.#execute(credentialId, { type: "RevokeCredential", credentialId, reason }, options);
  }

  mapJwtIdentity(
    input: { consumerId: string; credentialId?: string; issuer: string; match: JwtIdentityMatch },
    options: WriteOptions,
  ): Promise<CredentialView> {
    const credentialId = input.credentialId ?? this.context.ids.entityId("cred");
    const readModel = this.context.readModel;
    return this.#execute(
      credentialId,
      {
        type: "MapJwtIdentity",
        credentialId,
        consumerId: input.consumerId,
        consumer: readModel.consumer(input.consumerId)?.state ?? null,
        issuer: input.issuer,
        match: input.match,
        conflictingCredentialId: readModel.liveJwtIdentity(input.issuer, input.match)?.id ?? null,
      },
      options,
    );
  }

  async createBasicUser(
    input: { consumerId: string; credentialId?: string; username: string; password: string },
    options: WriteOptions,
  ): Promise<CredentialView> {
    const credentialId = input.credentialId ?? this.context.ids.entityId("cred");
    const readModel = this.context.readModel;
    const passwordHash = await hashPassword(input.password, this.context.entropy, this.context.scryptParameters);
    return this.#execute(
      credentialId,
      {
        type: "CreateBasicUser",
        credentialId,
        consumerId: input.consumerId,
        consumer: readModel.consumer(input.consumerId)?.state ?? null,
        username: input.username,
        passwordHash,
        conflictingCredentialId: readModel.liveBasicUser(input.username)?.id ?? null,
      },
      options,
    );
  }

  async changeBasicPassword(credentialId: string, password: string, options: WriteOptions): Promise<CredentialView> {
    const passwordHash = await hashPassword(password, this.context.entropy, this.context.scryptParameters);
    return this.#execute(credentialId, { type: "ChangeBasicPassword", credentialId, passwordHash }, options);
  }

  async issueHmacSecret(input: { consumerId: string; credentialId?: string; name: string }, options: WriteOptions): Promise<IssuedSecret> {
    const box = this.#secretBox();
    const credentialId = input.credentialId ?? this.context.ids.entityId("cred");
    const secret = generateHmacSecret(this.context.entropy);
    const credential = await this.#execute(
      credentialId,
      {
        type: "IssueHmacSecret",
        credentialId,
        consumerId: input.consumerId,
        consumer: this.context.readModel.consumer(input.consumerId)?.state ?? null,
        name: input.name,
        secret: box.seal(Buffer.from(secret, "utf8"), credentialId),
      },
      options,
    );
    return { credential, secret };
  }

  secretKeyUsage(): SecretKeyUsage {
    const box = this.context.secretBox;
    const secretsByKeyId: Record<string, number> = {};
    for (const record of this.context.readModel.listCredentials()) {
      const credential = record.state;
      if (credential.kind !== "hmac" || credential.status !== "active") continue;
      secretsByKeyId[credential.secret.keyId] = (secretsByKeyId[credential.secret.keyId] ?? 0) + 1;
    }
    return { currentKeyId: box?.currentKeyId ?? null, configuredKeyIds: box ? box.keyIds() : [], secretsByKeyId };
  }

  /**
   * Step two of an encryption-key rotation: every live HMAC secret sealed with an older
   * key is opened and sealed again with the current one. Each is its own append with
   * the revision it was read at, so a concurrent change to one secret makes that one
   * fail (reported) rather than overwrite it; running it again picks it up.
   */
  async reencryptHmacSecrets(options: WriteOptions): Promise<ReencryptionReport> {
    const box = this.#secretBox();
    const report: ReencryptionReport = { reencrypted: [], failed: [] };
    for (const record of this.context.readModel.listCredentials()) {
      const credential = record.state;
      if (credential.kind !== "hmac" || credential.status !== "active" || credential.secret.keyId === box.currentKeyId) continue;
      try {
        const loaded = await this.context.commands.load(credentialDecider, credential.credentialId);
        const current = loaded.state;
        if (current?.kind !== "hmac" || current.status !== "active") continue;
        const plaintext = box.open(current.secret, current.credentialId);
        const sealed = box.seal(plaintext, current.credentialId);
        plaintext.fill(0);
        const result = await this.context.commands.execute(
          credentialDecider,
          current.credentialId,
          { type: "ReencryptHmacSecret", credentialId: current.credentialId, secret: sealed },
          { ...options, expectedRevision: loaded.revision },
        );
        if (result.position !== null) {
          await this.context.readModel.waitFor(result.position, this.context.readYourWritesTimeoutMs);
          report.reencrypted.push(current.credentialId);
        }
      } catch (error) {
        report.failed.push({ credentialId: credential.credentialId, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    return report;
  }

  /**
   * The consumer an API key belongs to, or null. The lookup is by the key's SHA-256:
   * the map's timing reveals nothing useful, since finding a stored hash by guessing
   * needs a preimage of a 256-bit key. The stored hash is still compared in constant
   * time, so that no comparison of secret-derived bytes short-circuits.
   */
  authenticateApiKey(presented: string): AuthenticatedKey | null {
    if (!isWellFormedApiKey(presented)) return null;
    const hash = hashApiKey(presented);
    const record = this.context.readModel.apiKeyByHash(hash);
    if (!record) return null;
    const key = liveApiKeys(record.state, this.context.clock.now()).find((candidate) => constantTimeEqual(hash, candidate.hash));
    if (!key || !this.context.readModel.consumer(record.state.consumerId)) return null;
    return { consumerId: record.state.consumerId, credentialId: record.state.credentialId, keyId: key.keyId };
  }

  #secretBox(): SecretBox {
    if (!this.context.secretBox) {
      throw new ControlPlaneError(problems.secretKeysMissing, "configure secretKeys to issue or re-encrypt HMAC signing secrets");
    }
    return this.context.secretBox;
  }

  async #execute(credentialId: string, command: CredentialCommand, options: WriteOptions): Promise<CredentialView> {
    const result = await this.context.commands.execute(credentialDecider, credentialId, command, options);
    const record = await readAfterWrite(
      this.context,
      result.position,
      () => this.context.readModel.credential(credentialId),
      () => loadEntityRecord(this.context.store, credentialDecider, credentialId),
    );
    return credentialView(record, this.context.clock.now());
  }
}

function normalizeTime(value: string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}
