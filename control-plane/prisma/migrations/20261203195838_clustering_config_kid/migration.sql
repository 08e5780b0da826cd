-- AlterTable
ALTER TABLE "clustering_data_planes" ADD COLUMN     "config_kid" TEXT NOT NULL DEFAULT '';
