import { mount } from '../lib/shell';

mount('personal-models', () => <main><h1>personal</h1></main>, 'Everything on this page stays on this machine.');
