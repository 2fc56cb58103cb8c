// i18n.js: the console's English and Spanish strings, the current language
// (remembered in localStorage), and in-place re-translation of the page.
// Translated elements carry data-i18n (and data-i18n-args / data-i18n-attr),
// so switching language never rebuilds a page or loses what was typed.

const STRINGS = {
  en: {
    'app.title': 'Tally console', 'skip': 'Skip to content', 'nav.label': 'Main',
    'nav.check': 'Check a shipment', 'nav.license': 'License', 'nav.issue': 'Issue', 'nav.network': 'Network',
    'lang.label': 'Language', 'signout': 'Sign out', 'node.label': 'Node', 'peer.label': 'Peer ID',
    'signin.title': 'Sign in', 'signin.token': 'API token',
    'signin.help': 'Paste the token your administrator gave you. It is kept only for this browser tab.',
    'signin.submit': 'Sign in', 'signin.bad': 'The node did not accept this token.',
    'signin.expired': 'Your session has ended. Please sign in again.',
    'loading': 'Loading…', 'none': 'None.', 'yes': 'yes', 'no': 'no',
    'err.title': 'Error', 'err.network': 'Cannot reach the node. Check the connection and try again.',
    'err.invalid_json': 'The request was not understood (missing or wrongly typed field).',
    'err.unauthenticated': 'The token is missing or unknown.',
    'err.forbidden': 'Your role does not allow this, or the document or checkpoint belongs to another authority or country.',
    'err.not_found': 'No such license on this node.',
    'err.conflict': 'Conflict: the number is already used, or the license was revoked (revoked is final).',
    'err.invalid_document': 'The document is well-formed but not valid.',
    'err.invalid_amendment': 'An amendment may not extend validity, raise a quantity, or change parties, countries or items.',
    'err.local_json': 'The text is not valid JSON.',
    'f.authority': 'Authority (e.g. US-DDTC)', 'f.number': 'Number', 'f.country': 'Country (ISO code, e.g. MX)',
    'f.port': 'Port or crossing', 'f.direction': 'Direction', 'f.date': 'Date',
    'f.exporter': 'Declared exporter (optional)', 'f.importer': 'Declared importer (optional)',
    'f.line': 'Line', 'f.quantity': 'Quantity', 'f.serials': 'Serial numbers (comma or space separated)',
    'f.record': 'Record this crossing (a signed entry in this node\'s log)', 'f.reason': 'Reason',
    'dir.exit': 'Exit', 'dir.transit': 'Transit', 'dir.entry': 'Entry',
    'check.title': 'Check a shipment', 'check.license': 'License', 'check.checkpoint': 'Checkpoint',
    'check.declared': 'Declared shipment', 'check.items': 'Item lines', 'item.add': 'Add item line',
    'item.remove': 'Remove this line', 'check.submit': 'Check shipment', 'check.result': 'Result',
    'verdict.accept': 'ACCEPT', 'verdict.reject': 'REJECT',
    'checks.caption': 'Every rule, in the order checked', 'col.rule': 'Rule', 'col.result': 'Result',
    'col.detail': 'Detail', 'ok.yes': 'pass', 'ok.no': 'fail',
    'record.done': 'Recorded as seq {seq}, hash {hash}', 'record.none': 'This check was not recorded.',
    'rule.license.known': 'The license exists on this node',
    'rule.license.signature': 'Signed by a trusted key of the authority',
    'rule.license.status': 'Not suspended or revoked',
    'rule.license.validity': 'The date is within the validity',
    'rule.route.checkpoint': 'The checkpoint fits the route',
    'rule.import.authorization': 'A valid import certificate covers the export',
    'rule.transit.authorization': 'Every transit country has authorized',
    'rule.parties.match': 'Exporter and importer are the licensed ones',
    'rule.items.match': 'Every declared line is on the license',
    'rule.items.quantity': 'Quantities within what is left',
    'rule.items.serials': 'Serial numbers licensed and not already used',
    'lic.title': 'License', 'lic.lookup': 'Look up a license', 'lic.lookupSubmit': 'Look up',
    'kind.export': 'Export license', 'kind.import': 'Import certificate', 'kind.transit': 'Transit authorization',
    'kind.delivery': 'Delivery verification',
    'party.brokers': 'Brokers', 'party.consignees': 'Intermediate consignees', 'party.carriers': 'Carriers',
    'party.delivered_to': 'Delivered to', 'lic.euc': 'End-user certificate',
    'lic.eucText': '{number} of {date}, issued by {issued_by}', 'lic.value': 'Value',
    'lic.place_of_issue': 'Place of issue', 'lic.deliveryDate': 'Delivered on',
    'issue.fields': 'An export license names its end_user (required) and may carry end_user_certificate {number, date, issued_by}, brokers, consignees (intermediate) and carriers (lists of parties {name, id, address}), value {amount, currency} and place_of_issue. An amendment may change carriers, consignees, ports, lower quantities, remove transit countries and shorten validity; everything else is frozen.',
    'status.active': 'Active', 'status.suspended': 'Suspended', 'status.revoked': 'Revoked',
    'lic.status': 'Status', 'lic.authority': 'Authority', 'lic.number': 'Number', 'lic.version': 'Version',
    'lic.validity': 'Validity', 'lic.validRange': '{from} to {until} (inclusive)', 'lic.issued': 'Issued at',
    'lic.entry': 'Log entry', 'lic.entryText': 'seq {seq}, hash {hash}', 'lic.parties': 'Parties',
    'party.exporter': 'Exporter', 'party.importer': 'Importer', 'party.end_user': 'End user',
    'lic.end_use': 'End use', 'lic.countries': 'Countries and route', 'c.export': 'Country of export',
    'c.import': 'Country of import', 'c.transits': 'Transit countries', 'c.transit': 'Transit country',
    'lic.exportLicense': 'Export license covered', 'lic.entryPoint': 'Entry point', 'lic.exitPoint': 'Exit point',
    'lic.decision': 'Decision', 'decision.authorized': 'Authorized', 'decision.no_objection': 'No objection',
    'lic.shipments': 'Shipments allowed', 'ship.single': 'Single', 'ship.partial': 'Partial',
    'lic.conditions': 'Conditions', 'lic.importCert': 'Import certificate', 'lic.items': 'Items',
    'lic.transitHint': 'Transit authorizations for this license are issued by authorities of {countries}. Look each one up on the License page by its authority and number; the Network page lists the trusted authorities.',
    'lic.transitNone': 'This node holds no transit authorization for this license yet (expected from {countries}).',
    'lic.transits': 'Transit authorizations', 'lic.history': 'Status history', 'col.authorization': 'Authorization',
    'col.status': 'Status', 'col.event': 'Event', 'col.reason': 'Reason',
    'lic.checkThis': 'Check a shipment under this license', 'lic.changeStatus': 'Suspend, reinstate or revoke',
    'col.line': 'Line', 'col.category': 'Category', 'col.description': 'Description', 'col.hs': 'HS code',
    'col.make': 'Make', 'col.model': 'Model', 'col.caliber': 'Caliber', 'col.quantity': 'Quantity',
    'col.serials': 'Serial numbers', 'col.licensed': 'Licensed',
    'cat.firearm': 'firearm', 'cat.part': 'part or component', 'cat.ammunition': 'ammunition',
    'cat.explosive': 'explosive', 'cat.related': 'related material',
    'unit.units': 'units', 'unit.rounds': 'rounds', 'unit.kg': 'kg',
    'chart.title': 'Licensed quantity and quantities shipped at exit, transit and entry',
    'chart.line': 'Line {n}', 'chart.over': 'over licensed', 'chart.empty': 'No item lines to chart.',
    'ships.title': 'Recorded shipments', 'ships.none': 'No shipments recorded.',
    'col.recorded_by': 'Recorded by', 'col.seq': 'Seq', 'col.checkpoint': 'Checkpoint', 'col.date': 'Date',
    'col.verdict': 'Verdict', 'col.items': 'Items',
    'issue.title': 'Issue a document', 'issue.hint': 'Needs an issuer token. Documents are signed with this node\'s key; the issuing country must be this node\'s country ({country}).',
    'issue.kind': 'Sample document', 'issue.sample': 'Load sample', 'issue.json': 'Document (JSON)',
    'issue.amend': 'This is an amendment of an existing license with the same kind and number',
    'issue.submit': 'Sign and publish', 'issue.done': 'Issued {authority} {number} as log entry seq {seq}.',
    'issue.amended': 'Amended {number}: now version {version}, log entry seq {seq}.', 'issue.open': 'Open the license',
    'st.title': 'Suspend, reinstate or revoke', 'st.suspend': 'Suspend', 'st.reinstate': 'Reinstate',
    'st.revoke': 'Revoke…', 'st.confirm': 'Revoking is final: {authority} {number} can never be reinstated. Revoke it?',
    'st.confirmYes': 'Yes, revoke permanently', 'st.cancel': 'Cancel',
    'st.done': '{authority} {number} is now: {status} (log entry seq {seq}).',
    'net.title': 'Network', 'net.updated': 'Updated {time}; refreshes every 5 seconds.', 'net.node': 'This node',
    'net.sync': 'Sync', 'net.peers': 'Peers', 'net.connected': 'connected', 'net.disconnected': 'not connected',
    'net.logs': 'Log heads', 'net.evidence': 'Equivocation (forked logs)', 'net.noEvidence': 'No equivocation detected.',
    'net.alert': 'EQUIVOCATION: {authority} signed two different entries at seq {seq}. Its log is forked; do not rely on it.',
    'net.authorities': 'Trusted authorities', 'col.peer_id': 'Peer ID', 'col.authority': 'Authority',
    'col.connected': 'Connection', 'col.head': 'Head hash', 'col.key': 'Field', 'col.value': 'Value',
    'nav.alerts': 'Alerts', 'nav.alertsOpen': 'open',
    'alerts.title': 'Alerts', 'alerts.hint': 'Raised by the network itself from the entries this node holds, newest first. Details come from other authorities\' records.',
    'alerts.filters': 'Filter alerts', 'alerts.kind': 'Kind', 'alerts.allKinds': 'All kinds',
    'alerts.all': 'Include closed alerts', 'alerts.refresh': 'Refresh', 'alerts.more': 'Show older alerts',
    'alerts.noneOpen': 'No open alerts.', 'alerts.none': 'No alerts.', 'alerts.end': 'No older alerts.',
    'alerts.shown': 'Shown: {n}.', 'alerts.license': 'Alerts for this license', 'alerts.licenseNone': 'No alerts for this license.',
    'alerts.open': 'Open', 'alerts.closed': 'Closed', 'col.kind': 'Kind', 'col.license': 'License',
    'col.raised': 'Raised', 'col.state': 'State',
    'ak.document.invalid': 'Invalid document from a trusted authority',
    'ak.equivocation': 'Forked log (equivocation)',
    'ak.shipment.refused': 'Crossing refused',
    'ak.shipment.off_route': 'Crossing off the licensed route',
    'ak.shipment.discrepancy': 'More entered or transited than exited',
    'ak.shipment.after_revocation': 'Crossing accepted after suspension or revocation',
    'ak.import.withdrawn': 'Import certificate withdrawn',
    'ak.delivery.overdue': 'Delivery overdue',
    'ak.serial.repeat': 'Serial number under two licenses',
    'ak.key.compromised': 'Entry signed after a key compromise',
    'ak.log.cloned': 'This node\'s log signed elsewhere (cloned keys)',
  },
  es: {
    'app.title': 'Consola Tally', 'skip': 'Saltar al contenido', 'nav.label': 'Principal',
    'nav.check': 'Verificar un envío', 'nav.license': 'Licencia', 'nav.issue': 'Emitir', 'nav.network': 'Red',
    'lang.label': 'Idioma', 'signout': 'Cerrar sesión', 'node.label': 'Nodo', 'peer.label': 'ID de par',
    'signin.title': 'Iniciar sesión', 'signin.token': 'Token de la API',
    'signin.help': 'Pegue el token que le dio su administrador. Solo se guarda en esta pestaña del navegador.',
    'signin.submit': 'Iniciar sesión', 'signin.bad': 'El nodo no aceptó este token.',
    'signin.expired': 'Su sesión terminó. Inicie sesión de nuevo.',
    'loading': 'Cargando…', 'none': 'Ninguno.', 'yes': 'sí', 'no': 'no',
    'err.title': 'Error', 'err.network': 'No se puede contactar el nodo. Revise la conexión e inténtelo de nuevo.',
    'err.invalid_json': 'No se entendió la solicitud (falta un campo o tiene un tipo incorrecto).',
    'err.unauthenticated': 'Falta el token o es desconocido.',
    'err.forbidden': 'Su rol no lo permite, o el documento o el puesto pertenece a otra autoridad o país.',
    'err.not_found': 'No existe esa licencia en este nodo.',
    'err.conflict': 'Conflicto: el número ya está en uso, o la licencia fue revocada (la revocación es definitiva).',
    'err.invalid_document': 'El documento está bien formado pero no es válido.',
    'err.invalid_amendment': 'Una enmienda no puede extender la vigencia, aumentar una cantidad ni cambiar partes, países o artículos.',
    'err.local_json': 'El texto no es JSON válido.',
    'f.authority': 'Autoridad (p. ej. US-DDTC)', 'f.number': 'Número', 'f.country': 'País (código ISO, p. ej. MX)',
    'f.port': 'Puerto o paso fronterizo', 'f.direction': 'Sentido', 'f.date': 'Fecha',
    'f.exporter': 'Exportador declarado (opcional)', 'f.importer': 'Importador declarado (opcional)',
    'f.line': 'Línea', 'f.quantity': 'Cantidad', 'f.serials': 'Números de serie (separados por comas o espacios)',
    'f.record': 'Registrar este cruce (un asiento firmado en el registro de este nodo)', 'f.reason': 'Motivo',
    'dir.exit': 'Salida', 'dir.transit': 'Tránsito', 'dir.entry': 'Entrada',
    'check.title': 'Verificar un envío', 'check.license': 'Licencia', 'check.checkpoint': 'Puesto de control',
    'check.declared': 'Envío declarado', 'check.items': 'Líneas de artículos', 'item.add': 'Añadir línea',
    'item.remove': 'Quitar esta línea', 'check.submit': 'Verificar envío', 'check.result': 'Resultado',
    'verdict.accept': 'ACEPTADO', 'verdict.reject': 'RECHAZADO',
    'checks.caption': 'Todas las reglas, en el orden verificado', 'col.rule': 'Regla', 'col.result': 'Resultado',
    'col.detail': 'Detalle', 'ok.yes': 'cumple', 'ok.no': 'no cumple',
    'record.done': 'Registrado con seq {seq}, hash {hash}', 'record.none': 'Esta verificación no se registró.',
    'rule.license.known': 'La licencia existe en este nodo',
    'rule.license.signature': 'Firmada con una clave confiable de la autoridad',
    'rule.license.status': 'No está suspendida ni revocada',
    'rule.license.validity': 'La fecha está dentro de la vigencia',
    'rule.route.checkpoint': 'El puesto de control corresponde a la ruta',
    'rule.import.authorization': 'Un certificado de importación válido cubre la exportación',
    'rule.transit.authorization': 'Todos los países de tránsito autorizaron',
    'rule.parties.match': 'Exportador e importador son los autorizados',
    'rule.items.match': 'Cada línea declarada está en la licencia',
    'rule.items.quantity': 'Cantidades dentro del saldo disponible',
    'rule.items.serials': 'Números de serie autorizados y no usados antes',
    'lic.title': 'Licencia', 'lic.lookup': 'Buscar una licencia', 'lic.lookupSubmit': 'Buscar',
    'kind.export': 'Licencia de exportación', 'kind.import': 'Certificado de importación', 'kind.transit': 'Autorización de tránsito',
    'kind.delivery': 'Verificación de entrega',
    'party.brokers': 'Intermediarios (corredores)', 'party.consignees': 'Consignatarios intermedios', 'party.carriers': 'Transportistas',
    'party.delivered_to': 'Entregado a', 'lic.euc': 'Certificado de usuario final',
    'lic.eucText': '{number} del {date}, emitido por {issued_by}', 'lic.value': 'Valor',
    'lic.place_of_issue': 'Lugar de emisión', 'lic.deliveryDate': 'Entregado el',
    'issue.fields': 'Una licencia de exportación nombra a su end_user (obligatorio) y puede llevar end_user_certificate {number, date, issued_by}, brokers, consignees (intermedios) y carriers (listas de partes {name, id, address}), value {amount, currency} y place_of_issue. Una enmienda puede cambiar transportistas, consignatarios y puertos, reducir cantidades, quitar países de tránsito y acortar la vigencia; todo lo demás queda fijo.',
    'status.active': 'Vigente', 'status.suspended': 'Suspendida', 'status.revoked': 'Revocada',
    'lic.status': 'Estado', 'lic.authority': 'Autoridad', 'lic.number': 'Número', 'lic.version': 'Versión',
    'lic.validity': 'Vigencia', 'lic.validRange': 'del {from} al {until} (inclusive)', 'lic.issued': 'Emitida el',
    'lic.entry': 'Asiento del registro', 'lic.entryText': 'seq {seq}, hash {hash}', 'lic.parties': 'Partes',
    'party.exporter': 'Exportador', 'party.importer': 'Importador', 'party.end_user': 'Usuario final',
    'lic.end_use': 'Uso final', 'lic.countries': 'Países y ruta', 'c.export': 'País de exportación',
    'c.import': 'País de importación', 'c.transits': 'Países de tránsito', 'c.transit': 'País de tránsito',
    'lic.exportLicense': 'Licencia de exportación cubierta', 'lic.entryPoint': 'Punto de entrada', 'lic.exitPoint': 'Punto de salida',
    'lic.decision': 'Decisión', 'decision.authorized': 'Autorizado', 'decision.no_objection': 'Sin objeción',
    'lic.shipments': 'Envíos permitidos', 'ship.single': 'Único', 'ship.partial': 'Parciales',
    'lic.conditions': 'Condiciones', 'lic.importCert': 'Certificado de importación', 'lic.items': 'Artículos',
    'lic.transitHint': 'Las autorizaciones de tránsito de esta licencia las emiten autoridades de {countries}. Búsquelas en la página Licencia por autoridad y número; la página Red lista las autoridades confiables.',
    'lic.transitNone': 'Este nodo aún no tiene autorizaciones de tránsito para esta licencia (se esperan de {countries}).',
    'lic.transits': 'Autorizaciones de tránsito', 'lic.history': 'Historial de estado', 'col.authorization': 'Autorización',
    'col.status': 'Estado', 'col.event': 'Evento', 'col.reason': 'Motivo',
    'lic.checkThis': 'Verificar un envío con esta licencia', 'lic.changeStatus': 'Suspender, restablecer o revocar',
    'col.line': 'Línea', 'col.category': 'Categoría', 'col.description': 'Descripción', 'col.hs': 'Código SA',
    'col.make': 'Marca', 'col.model': 'Modelo', 'col.caliber': 'Calibre', 'col.quantity': 'Cantidad',
    'col.serials': 'Números de serie', 'col.licensed': 'Autorizado',
    'cat.firearm': 'arma de fuego', 'cat.part': 'parte o componente', 'cat.ammunition': 'munición',
    'cat.explosive': 'explosivo', 'cat.related': 'material relacionado',
    'unit.units': 'unidades', 'unit.rounds': 'cartuchos', 'unit.kg': 'kg',
    'chart.title': 'Cantidad autorizada y cantidades enviadas en salida, tránsito y entrada',
    'chart.line': 'Línea {n}', 'chart.over': 'excede lo autorizado', 'chart.empty': 'No hay líneas para graficar.',
    'ships.title': 'Envíos registrados', 'ships.none': 'No hay envíos registrados.',
    'col.recorded_by': 'Registrado por', 'col.seq': 'Seq', 'col.checkpoint': 'Puesto de control', 'col.date': 'Fecha',
    'col.verdict': 'Veredicto', 'col.items': 'Artículos',
    'issue.title': 'Emitir un documento', 'issue.hint': 'Requiere un token de emisor. Los documentos se firman con la clave de este nodo; el país emisor debe ser el de este nodo ({country}).',
    'issue.kind': 'Documento de ejemplo', 'issue.sample': 'Cargar ejemplo', 'issue.json': 'Documento (JSON)',
    'issue.amend': 'Es una enmienda de una licencia existente del mismo tipo y número',
    'issue.submit': 'Firmar y publicar', 'issue.done': 'Emitido {authority} {number} como asiento seq {seq}.',
    'issue.amended': 'Enmendado {number}: ahora versión {version}, asiento seq {seq}.', 'issue.open': 'Abrir la licencia',
    'st.title': 'Suspender, restablecer o revocar', 'st.suspend': 'Suspender', 'st.reinstate': 'Restablecer',
    'st.revoke': 'Revocar…', 'st.confirm': 'La revocación es definitiva: {authority} {number} no podrá restablecerse nunca. ¿Revocarla?',
    'st.confirmYes': 'Sí, revocar definitivamente', 'st.cancel': 'Cancelar',
    'st.done': '{authority} {number} ahora está: {status} (asiento seq {seq}).',
    'net.title': 'Red', 'net.updated': 'Actualizado {time}; se actualiza cada 5 segundos.', 'net.node': 'Este nodo',
    'net.sync': 'Sincronización', 'net.peers': 'Pares', 'net.connected': 'conectado', 'net.disconnected': 'no conectado',
    'net.logs': 'Cabezas de los registros', 'net.evidence': 'Equivocación (registro bifurcado)', 'net.noEvidence': 'No se detectó ninguna equivocación.',
    'net.alert': 'EQUIVOCACIÓN: {authority} firmó dos asientos distintos con seq {seq}. Su registro está bifurcado; no confíe en él.',
    'net.authorities': 'Autoridades confiables', 'col.peer_id': 'ID de par', 'col.authority': 'Autoridad',
    'col.connected': 'Conexión', 'col.head': 'Hash de cabeza', 'col.key': 'Campo', 'col.value': 'Valor',
    'nav.alerts': 'Alertas', 'nav.alertsOpen': 'abiertas',
    'alerts.title': 'Alertas', 'alerts.hint': 'Las genera la propia red a partir de los asientos que tiene este nodo, de la más reciente a la más antigua. Los detalles provienen de registros de otras autoridades.',
    'alerts.filters': 'Filtrar alertas', 'alerts.kind': 'Tipo', 'alerts.allKinds': 'Todos los tipos',
    'alerts.all': 'Incluir alertas cerradas', 'alerts.refresh': 'Actualizar', 'alerts.more': 'Mostrar alertas anteriores',
    'alerts.noneOpen': 'No hay alertas abiertas.', 'alerts.none': 'No hay alertas.', 'alerts.end': 'No hay alertas anteriores.',
    'alerts.shown': 'Mostradas: {n}.', 'alerts.license': 'Alertas de esta licencia', 'alerts.licenseNone': 'No hay alertas para esta licencia.',
    'alerts.open': 'Abierta', 'alerts.closed': 'Cerrada', 'col.kind': 'Tipo', 'col.license': 'Licencia',
    'col.raised': 'Generada', 'col.state': 'Estado',
    'ak.document.invalid': 'Documento inválido de una autoridad confiable',
    'ak.equivocation': 'Registro bifurcado (equivocación)',
    'ak.shipment.refused': 'Cruce rechazado',
    'ak.shipment.off_route': 'Cruce fuera de la ruta autorizada',
    'ak.shipment.discrepancy': 'Entró o transitó más de lo que salió',
    'ak.shipment.after_revocation': 'Cruce aceptado tras suspensión o revocación',
    'ak.import.withdrawn': 'Certificado de importación retirado',
    'ak.delivery.overdue': 'Entrega vencida',
    'ak.serial.repeat': 'Número de serie en dos licencias',
    'ak.key.compromised': 'Asiento firmado tras el compromiso de una clave',
    'ak.log.cloned': 'El registro de este nodo se firma en otro lugar (claves clonadas)',
  },
};

export const LANGS = { en: 'English', es: 'Español' };
const STORE_KEY = 'tally.lang';
let lang = 'en';
try { const saved = localStorage.getItem(STORE_KEY); if (saved in STRINGS) lang = saved; } catch { /* storage disabled */ }

export const getLang = () => lang;

/** Translate `key`, replacing {name} placeholders from `args`; falls back to English, then to the key. */
export function t(key, args) {
  const s = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return args ? s.replace(/\{(\w+)\}/g, (m, k) => (k in args ? String(args[k]) : m)) : s;
}

/** Give `el` a translated text that follows language changes. */
export function tr(el, key, args) {
  el.dataset.i18n = key;
  if (args) el.dataset.i18nArgs = JSON.stringify(args); else delete el.dataset.i18nArgs;
  el.textContent = t(key, args);
  return el;
}

/** Give `el` translated attributes, e.g. {'aria-label': 'nav.label'}. */
export function trAttr(el, map) {
  el.dataset.i18nAttr = JSON.stringify(map);
  for (const [attr, key] of Object.entries(map)) el.setAttribute(attr, t(key));
  return el;
}

/** Re-translate every marked element under `root`. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n, el.dataset.i18nArgs ? JSON.parse(el.dataset.i18nArgs) : undefined);
  }
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const [attr, key] of Object.entries(JSON.parse(el.dataset.i18nAttr))) el.setAttribute(attr, t(key));
  }
}

/** Switch language: remember it, set <html lang>, re-translate in place. */
export function setLang(next) {
  if (!(next in STRINGS)) return;
  lang = next;
  try { localStorage.setItem(STORE_KEY, next); } catch { /* storage disabled */ }
  document.documentElement.lang = next;
  applyI18n();
  document.title = t('app.title');
}
