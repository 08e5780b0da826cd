import Kongponents from '@kong/kongponents';
import '@kong/kongponents/dist/style.css';
import { createApp } from 'vue';
import App from './App.vue';
import { GET_AXIOS_INSTANCE, kongAxios } from './kong/axios';
import { installCspShim, installIconShim } from './kong/csp-shim';
import { createHashBridgeRouter } from './kong/router';
import './style.css';

installCspShim();
installIconShim();
// Kong's entity components (ui/src/kong/) resolve Kongponents globally and navigate with vue-router.
// Their requests go through our axios factory (a 403 reads "Not allowed (403): …" as on our forms).
createApp(App)
  .provide(GET_AXIOS_INSTANCE, kongAxios)
  .use(createHashBridgeRouter())
  .use(Kongponents)
  .mount('#app');
