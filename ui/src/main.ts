import Kongponents from '@kong/kongponents';
import '@kong/kongponents/dist/style.css';
import { createApp } from 'vue';
import App from './App.vue';
import { installCspShim } from './kong/csp-shim';
import { createHashBridgeRouter } from './kong/router';
import './style.css';

installCspShim();
// Kong's entity components (ui/src/kong/) resolve Kongponents globally and navigate with vue-router.
createApp(App).use(createHashBridgeRouter()).use(Kongponents).mount('#app');
