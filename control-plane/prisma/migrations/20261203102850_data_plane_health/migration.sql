-- AlterTable
ALTER TABLE "clustering_data_planes" ADD COLUMN     "health" JSONB;
