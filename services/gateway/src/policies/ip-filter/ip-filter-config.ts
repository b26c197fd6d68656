import { z } from "zod";

const ipOrCidr = z.union([z.cidrv4(), z.cidrv6(), z.ipv4(), z.ipv6()], { error: "expected an IP address or a CIDR range (IPv4 or IPv6)" });

export const IpFilterConfig = z.strictObject({
  allow: z
    .array(ipOrCidr)
    .default([])
    .describe("When not empty, only clients in these addresses and ranges pass; empty lets every address through to the deny list"),
  deny: z.array(ipOrCidr).default([]).describe("Clients in these addresses and ranges are refused, whatever any allow list says"),
});

export type IpFilterConfig = z.infer<typeof IpFilterConfig>;
