-- One PostgreSQL server for the services, one database each; scripts/db/prepare.ts migrates them.
CREATE DATABASE saga_orders;
CREATE DATABASE saga_payments;
CREATE DATABASE saga_shipments;
CREATE DATABASE saga_inventory;
-- The simulated payment provider's own store; it creates its tables on first use.
CREATE DATABASE saga_provider;
