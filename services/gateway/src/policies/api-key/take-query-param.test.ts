import { describe, expect, it } from "vitest";
import { repeatedValue } from "../request-headers.js";
import { takeQueryParam } from "./take-query-param.js";

describe("takeQueryParam", () => {
  it("takes the parameter and leaves the rest byte for byte", () => {
    expect(takeQueryParam("?a=1&api_key=tg_x&b=%2Fz", "api_key")).toEqual({ value: "tg_x", query: "?a=1&b=%2Fz" });
    expect(takeQueryParam("?api_key=tg_x", "api_key")).toEqual({ value: "tg_x", query: "" });
  });

  it("returns the query unchanged when the parameter is absent", () => {
    expect(takeQueryParam("", "api_key")).toEqual({ value: undefined, query: "" });
    expect(takeQueryParam("?a=1&b=2", "api_key")).toEqual({ value: undefined, query: "?a=1&b=2" });
    expect(takeQueryParam("?my_api_key=1", "api_key")).toEqual({ value: undefined, query: "?my_api_key=1" });
  });

  it("finds (and removes) a percent-encoded or form-encoded spelling of the name, as upstream frameworks would decode it", () => {
    expect(takeQueryParam("?api%5Fkey=tg_x&a=1", "api_key")).toEqual({ value: "tg_x", query: "?a=1" });
    expect(takeQueryParam("?api_key=tg%5Fx", "api_key")).toEqual({ value: "tg_x", query: "" });
  });

  it("removes every occurrence, and says when they disagree", () => {
    expect(takeQueryParam("?api_key=a&x=1&api_key=a", "api_key")).toEqual({ value: "a", query: "?x=1" });
    expect(takeQueryParam("?api_key=a&api_key=b", "api_key")).toEqual({ value: repeatedValue, query: "" });
  });

  it("keeps a malformed escape as it came", () => {
    expect(takeQueryParam("?api_key=%zz&a=%", "api_key")).toEqual({ value: "%zz", query: "?a=%" });
  });
});
