import type { ControlPlaneServices } from "../../application/control-plane-services.js";
import { defineEndpoint, type AnyEndpoint } from "../endpoint.js";
import { AsOfQuery, ReasonBody, idParams } from "../schemas/common-schemas.js";
import {
  ChangePasswordBody,
  CreateBasicUserBody,
  CredentialList,
  CredentialView,
  IssueApiKeyBody,
  IssueHmacSecretBody,
  IssuedSecret,
  ListCredentialsQuery,
  MapJwtIdentityBody,
  ReencryptionReport,
  RotateApiKeyBody,
  SecretKeyUsage,
} from "../schemas/credential-schemas.js";
import { conflictResponses, readResponses, writeResponses } from "../standard-responses.js";

export function credentialEndpoints({ credentials }: ControlPlaneServices): AnyEndpoint[] {
  const consumerParams = idParams("consumerId");
  const credentialParams = idParams("credentialId");
  return [
    defineEndpoint({
      method: "get",
      path: "/admin/credentials",
      operationId: "listCredentials",
      summary: "List credentials (never their secrets), optionally of one consumer",
      tag: "credentials",
      access: "admin:read",
      query: ListCredentialsQuery,
      responses: { 200: { description: "The credentials", schema: CredentialList }, ...readResponses },
      handle: ({ query }) => Promise.resolve({ status: 200, body: { items: credentials.list(query.consumerId) } }),
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/credentials/:credentialId",
      operationId: "getCredential",
      summary: "Read a credential, now or as of a past instant",
      tag: "credentials",
      access: "admin:read",
      params: credentialParams,
      query: AsOfQuery,
      responses: { 200: { description: "The credential", schema: CredentialView }, ...readResponses },
      handle: async ({ params, query }) => {
        const credential = await credentials.get(params.credentialId, query.asOf ? new Date(query.asOf) : undefined);
        return { status: 200, body: credential, etag: credential.version };
      },
    }),
    defineEndpoint({
      method: "post",
      path: "/admin/consumers/:consumerId/api-keys",
      operationId: "issueApiKey",
      summary: "Issue an API key (ApiKeyIssued); the key is in this response only",
      tag: "credentials",
      access: "admin:write",
      params: consumerParams,
      body: IssueApiKeyBody,
      responses: { 201: { description: "The credential and, once, its key", schema: IssuedSecret }, ...writeResponses },
      handle: async ({ params, body, actor, requestId }) => {
        const issued = await credentials.issueApiKey(
          { consumerId: params.consumerId, credentialId: body.id, name: body.name, expiresAt: body.expiresAt },
          { actor, requestId },
        );
        return { status: 201, body: issued, etag: issued.credential.version };
      },
    }),
    defineEndpoint({
      method: "post",
      path: "/admin/credentials/:credentialId/rotate",
      operationId: "rotateApiKey",
      summary: "Rotate an API key (ApiKeyRotated): a new key now, the current one until the overlap ends",
      tag: "credentials",
      access: "admin:write",
      params: credentialParams,
      body: RotateApiKeyBody,
      conditional: true,
      responses: { 200: { description: "The credential and, once, its new key", schema: IssuedSecret }, ...writeResponses, ...conflictResponses },
      handle: async ({ params, body, actor, requestId, ifMatch }) => {
        const issued = await credentials.rotateApiKey(params.credentialId, body, { actor, requestId, expectedRevision: ifMatch });
        return { status: 200, body: issued, etag: issued.credential.version };
      },
    }),
    defineEndpoint({
      method: "post",
      path: "/admin/credentials/:credentialId/revoke",
      operationId: "revokeCredential",
      summary: "Revoke any credential (ApiKeyRevoked, JwtIdentityUnmapped, BasicUserRemoved or HmacSecretRevoked)",
      tag: "credentials",
      access: "admin:write",
      params: credentialParams,
      body: ReasonBody,
      conditional: true,
      responses: { 200: { description: "The revoked credential", schema: CredentialView }, ...writeResponses, ...conflictResponses },
      handle: async ({ params, body, actor, requestId, ifMatch }) => {
        const credential = await credentials.revoke(params.credentialId, body.reason, { actor, requestId, expectedRevision: ifMatch });
        return { status: 200, body: credential, etag: credential.version };
      },
    }),
    defineEndpoint({
      method: "post",
      path: "/admin/consumers/:consumerId/jwt-identities",
      operationId: "mapJwtIdentity",
      summary: "Map a JWT issuer and subject (or claim value) to the consumer (JwtIdentityMapped)",
      tag: "credentials",
      access: "admin:write",
      params: consumerParams,
      body: MapJwtIdentityBody,
      responses: { 201: { description: "The mapping", schema: CredentialView }, ...writeResponses },
      handle: async ({ params, body, actor, requestId }) => {
        const credential = await credentials.mapJwtIdentity(
          { consumerId: params.consumerId, credentialId: body.id, issuer: body.issuer, match: body.match },
          { actor, requestId },
        );
        return { status: 201, body: credential, etag: credential.version };
      },
    }),
    defineEndpoint({
      method: "post",
      path: "/admin/consumers/:consumerId/basic-users",
      operationId: "createBasicUser",
      summary: "Create an HTTP Basic user (BasicUserCreated); the password is stored as a scrypt hash only",
      tag: "credentials",
      access: "admin:write",
      params: consumerParams,
      body: CreateBasicUserBody,
      responses: { 201: { description: "The Basic user", schema: CredentialView }, ...writeResponses },
      handle: async ({ params, body, actor, requestId }) => {
        const credential = await credentials.createBasicUser(
          { consumerId: params.consumerId, credentialId: body.id, username: body.username, password: body.password },
          { actor, requestId },
        );
        return { status: 201, body: credential, etag: credential.version };
      },
    }),
    defineEndpoint({
      method: "put",
      path: "/admin/credentials/:credentialId/password",
      operationId: "changeBasicPassword",
      summary: "Set a Basic user's password (BasicPasswordChanged)",
      tag: "credentials",
      access: "admin:write",
      params: credentialParams,
      body: ChangePasswordBody,
      conditional: true,
      responses: { 200: { description: "The Basic user", schema: CredentialView }, ...writeResponses, ...conflictResponses },
      handle: async ({ params, body, actor, requestId, ifMatch }) => {
        const credential = await credentials.changeBasicPassword(params.credentialId, body.password, { actor, requestId, expectedRevision: ifMatch });
        return { status: 200, body: credential, etag: credential.version };
      },
    }),
    defineEndpoint({
      method: "post",
      path: "/admin/consumers/:consumerId/hmac-secrets",
      operationId: "issueHmacSecret",
      summary: "Issue an HMAC signing secret (HmacSecretIssued, sealed with AES-256-GCM); the secret is in this response only",
      tag: "credentials",
      access: "admin:write",
      params: consumerParams,
      body: IssueHmacSecretBody,
      responses: {
        201: { description: "The credential and, once, its secret", schema: IssuedSecret },
        ...writeResponses,
        503: { description: "secret-keys-missing: no encryption key is configured" },
      },
      handle: async ({ params, body, actor, requestId }) => {
        const issued = await credentials.issueHmacSecret(
          { consumerId: params.consumerId, credentialId: body.id, name: body.name },
          { actor, requestId },
        );
        return { status: 201, body: issued, etag: issued.credential.version };
      },
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/secret-keys",
      operationId: "getSecretKeyUsage",
      summary: "Which encryption keys seal how many live HMAC secrets (key ids only, never keys)",
      tag: "secret keys",
      access: "admin:read",
      responses: { 200: { description: "Usage by key id", schema: SecretKeyUsage }, ...readResponses },
      handle: () => Promise.resolve({ status: 200, body: credentials.secretKeyUsage() }),
    }),
    defineEndpoint({
      method: "post",
      path: "/admin/secret-keys/reencrypt",
      operationId: "reencryptHmacSecrets",
      summary: "Re-seal every live HMAC secret under the current key (HmacSecretReencrypted); step two of a key rotation",
      tag: "secret keys",
      access: "admin:write",
      responses: {
        200: { description: "What was re-sealed, and what failed (run again to retry those)", schema: ReencryptionReport },
        ...writeResponses,
        503: { description: "secret-keys-missing" },
      },
      handle: async ({ actor, requestId }) => ({ status: 200, body: await credentials.reencryptHmacSecrets({ actor, requestId }) }),
    }),
  ];
}
