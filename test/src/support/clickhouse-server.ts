/** A private clickhouse-server per suite: free ports, temp folder, stopped by PID (see @tollgate/analytics/testing). */
export { PrivateClickHouseServer } from "@tollgate/analytics/testing";
