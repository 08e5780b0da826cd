-- AlterTable
ALTER TABLE "acls" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "basicauth_credentials" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "ca_certificates" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "certificates" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "consumer_groups" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "consumers" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "hmacauth_credentials" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "jwt_secrets" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "key_sets" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "keyauth_credentials" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "keys" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "plugins" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "routes" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "services" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "snis" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "targets" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "upstreams" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "vaults" ADD COLUMN     "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[];
