// For tools that read ui/src without Vue's compiler (typed eslint); vue-tsc types .vue files itself.
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent;
  export default component;
}
