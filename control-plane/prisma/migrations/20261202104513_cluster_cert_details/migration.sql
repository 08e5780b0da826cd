-- AlterTable
ALTER TABLE "clustering_data_planes" ADD COLUMN     "cert_common_name" TEXT,
ADD COLUMN     "cert_expiry" TIMESTAMPTZ(3),
ADD COLUMN     "cert_subject" TEXT;
