export const SOURCE_DIR = 'src';
export const DIST_DIR = 'dist';
/** The data source is the top-level plugin of dist/; panels nest under dist/panels/<name>/. */
export const ROOT_PLUGIN_DIR = 'src/datasource';
export const NESTED_PLUGINS_DIR = 'src/panels';
