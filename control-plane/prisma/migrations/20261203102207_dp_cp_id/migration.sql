-- AlterTable
ALTER TABLE "clustering_data_planes" ADD COLUMN     "cp_id" TEXT;
