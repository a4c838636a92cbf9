import { mount } from '../lib/shell';

mount('training', () => <main><h1>training</h1></main>, 'Everything on this page stays on this machine.');
