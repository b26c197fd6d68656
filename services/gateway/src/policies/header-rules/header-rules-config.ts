import { z } from "zod";

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, "expected a header name (an RFC 9110 token)")
  .transform((name) => name.toLowerCase());

export const RequiredHeader = z.strictObject({
  name: headerName.describe("Required. The header that must be present and not empty (case-insensitive)"),
  pattern: z
    .string()
    .min(1)
    .max(500)
    .refine(isRegExp, "not a valid regular expression")
    .optional()
    .describe("When set, every value of the header must match this regular expression in full (it is anchored); the value itself is never logged"),
});

export const HeaderRulesConfig = z
  .strictObject({
    required: z.array(RequiredHeader).default([]).describe("Headers every request must carry, optionally with a value pattern"),
    forbidden: z.array(headerName).default([]).describe("Headers no request may carry (refused, not stripped)"),
  })
  .refine((config) => !config.required.some((rule) => config.forbidden.includes(rule.name)), {
    message: "a header cannot be both required and forbidden",
    path: ["forbidden"],
  });

export type RequiredHeader = z.infer<typeof RequiredHeader>;
export type HeaderRulesConfig = z.infer<typeof HeaderRulesConfig>;

function isRegExp(source: string): boolean {
  try {
    new RegExp(source, "u");
    return true;
  } catch {
    return false;
  }
}
