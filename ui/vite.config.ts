import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

// A static build the control plane serves (control-plane/src/admin-gui/server.ts): relative
// asset paths, no inline scripts (the CP's Content-Security-Policy allows only 'self').
export default defineConfig({
  plugins: [vue()],
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, modulePreload: { polyfill: false }, sourcemap: false },
});
