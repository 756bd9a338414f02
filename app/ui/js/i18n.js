// i18n.js — Japanese and English strings, the current language, and applying
// them to the page.
//
// The language comes from the saved choice (Settings; kept in localStorage and
// in the backend's settings), else from navigator.language. Static text in
// index.html carries `data-i18n="key"` (textContent) or
// `data-i18n-attr="attr:key;attr:key"`; dynamic text calls t().

export const STRINGS = {
  ja: {
    'app.name': 'OnePush',
    'nav.label': 'メインメニュー',
    'nav.home': 'ホーム',
    'nav.history': '履歴',
    'nav.settings': '設定',
    'common.cancel': 'キャンセル',
    'common.loading': '読み込み中…',

    'setup.title': 'はじめに',
    'setup.intro': 'この端末にクレデンシャルを作成します。作成後、銀行の利用登録画面でクレデンシャルIDと連続する2つのセキュリティコードを入力してください。',
    'setup.relay': '中継サーバーのURL',
    'setup.relayHelp': '通常は変更不要です。',
    'setup.kind': 'この端末の使い方',
    'setup.kindPush': '承認アプリ(スマートフォンと同じ)',
    'setup.kindPushHelp': '銀行からのリクエストをワンプッシュで承認します。セキュリティコードも表示します。',
    'setup.kindOtp': 'このPCをコード専用トークンにする',
    'setup.kindOtpHelp': 'セキュリティコードだけを表示します(承認のリクエストは届きません)。鍵はこのPCのキーストアに保管され、コードはこのPCでしか作れません。',
    'setup.noKeystoreOtp': 'この端末ではOSのキーストアを利用できません({d})。コード専用トークンはこのPCのキーストアに鍵を保管するため、作成できません。',
    'setup.usePin': '承認の前にPINを入力する',
    'setup.usePinHelp': 'PINはこの端末の保管データの鍵にもなり、アプリを開くときにも入力します。端末を他の人が使える場合におすすめします。',
    'setup.pin': 'PIN(数字4〜8桁)',
    'setup.pinConfirm': 'PIN(確認)',
    'setup.create': 'クレデンシャルを作成',
    'setup.creating': '作成中…',
    'setup.errRelay': 'https:// で始まるURLを入力してください。',
    'setup.errPin': 'PINは数字4〜8桁で入力してください。',
    'setup.errPinMatch': '確認用のPINが一致しません。',
    'setup.noKeystore': 'この端末ではOSのキーストアを利用できません({d})。クレデンシャルの鍵はOSのキーストアに保存します。',
    'setup.fileKey': '鍵をファイルに保存する(安全性が低い)',
    'setup.fileKeyHelp': '鍵をアプリのフォルダーに保存します。フォルダーをコピーされると、別の端末でもこのクレデンシャルを使われるおそれがあります。',
    'setup.vaultProblem': 'この端末の保管データを開けません: {m}',
    'setup.startOver': 'やり直す(開けない保管データを削除)',

    'unlock.title': 'ロック中',
    'unlock.intro': 'この端末のクレデンシャルはPINで保護されています。PINを入力してロックを解除してください。',
    'unlock.pin': 'ロック解除のPIN',
    'unlock.submit': 'ロックを解除',
    'unlock.forgotHelp': 'PINを忘れた場合は、この端末のクレデンシャルを削除してやり直します。銀行での利用登録もやり直しが必要です。',
    'unlock.startOver': 'PINを忘れた: やり直す',
    'unlock.startOverTitle': 'クレデンシャルを削除しますか?',
    'unlock.startOverBody': 'この端末のクレデンシャルを削除します。元に戻せません。銀行での利用登録をやり直してください。',

    'home.title': 'ホーム',
    'home.credentialId': 'クレデンシャルID',
    'home.code': 'セキュリティコード',
    'home.secondsLeft': '残り{s}秒',
    'home.next': '次のコード(利用登録用)',
    'home.nextHelp': '銀行の利用登録画面では、連続する2つのコード(上のコードとこのコード)を入力します。',
    'home.codeRefreshed': 'セキュリティコードが更新されました',
    'home.kindPush': '承認アプリ',
    'home.kindOtp': 'PCトークン(コード専用)',
    'home.otpHelp': 'この端末はコード専用です。銀行の画面でセキュリティコードを入力してください。承認のリクエストは届きません。',
    'home.pending': '承認待ちのリクエスト',
    'home.accounts': 'ご利用中のサービス',
    'home.noAccounts': 'まだ利用登録されていません。銀行の利用登録画面で、上のクレデンシャルIDとセキュリティコードを入力してください。',
    'home.accountsError': '利用状況を取得できませんでした(セキュリティコードはオフラインでも使えます)。',
    'home.offline': 'オフラインで承認(コードを表示)',
    'offline.title': 'オフラインで承認',
    'offline.intro': '端末がネットワークにつながらないときに使います。銀行の画面に表示されたコード(QRコードの内容)を貼り付けるか入力してください。',
    'offline.payload': '銀行の画面に表示されたコード',
    'offline.read': '内容を表示',
    'offline.scan': 'QRコードを読み取る',
    'offline.cancel': 'やめる',
    'offline.empty': '銀行の画面に表示されたコードを貼り付けてください。',
    'offline.codeLabel': '銀行の画面に入力するコード',
    'offline.codeHelp': 'この取引だけに使えるコードです。{time}までに銀行の画面に入力してください。',
    'home.userId': '利用者ID',

    'state.active': '利用中',
    'state.suspended': '利用停止中',
    'state.unregistered': '登録解除',
    'state.locked': '閉塞',

    'kind.login': 'ログイン',
    'kind.transaction': 'お取引',
    'kind.admin': '管理操作',
    'prompt.title.login': 'ログインの承認',
    'prompt.title.transaction': 'お取引の承認',
    'prompt.title.admin': '管理操作の承認',
    'prompt.back': '戻る',
    'prompt.user': '利用者ID',
    'prompt.time': '日時',
    'prompt.timeLeft': '残り{s}秒',
    'prompt.timeLeftAnnounce': '回答期限まで残り{s}秒',
    'prompt.ip': 'IPアドレス',
    'prompt.browser': 'ブラウザ',
    'prompt.location': '場所',
    'prompt.amount': '金額',
    'prompt.currency': '通貨',
    'prompt.payee': '振込先',
    'prompt.payeeAccount': '振込先口座',
    'prompt.operation': '操作',
    'prompt.target': '対象の利用者ID',
    'prompt.other': 'その他の内容',
    'prompt.number': '銀行の画面に表示されている2桁の数字を入力してください',
    'prompt.approve': '承認',
    'prompt.deny': '拒否',
    'prompt.notMe': '身に覚えがない',
    'prompt.notMeTitle': '身に覚えのない操作として拒否しますか?',
    'prompt.notMeBody': 'この操作を拒否し、銀行に不正の可能性を知らせます。この利用者のワンプッシュ認証は閉塞され、解除には銀行への連絡が必要です。',
    'prompt.notMeConfirm': '拒否して銀行に知らせる',
    'prompt.markerHelp': '⟪U+…⟫ は、表示順を入れ替える制御文字など見えない文字が含まれていた位置です。心当たりがなければ拒否してください。',
    'prompt.status.approved': '承認しました',
    'prompt.status.denied': '拒否しました',
    'prompt.status.notMe': '拒否し、銀行に知らせました',
    'prompt.status.expired': '回答期限が過ぎました。もう一度、銀行の画面から操作してください。',
    'prompt.status.cancelled': 'このリクエストは取り消されました。',
    'prompt.status.undeliverable': 'このリクエストは届きませんでした。',
    'prompt.status.credential_mismatch': 'このリクエストは別の端末から回答されました。',
    'prompt.status.answered': 'このリクエストには回答済みです。',
    'prompt.done': 'ホームへ',
    'prompt.nextRequest': '次のリクエストへ',
    'prompt.changedTitle': 'リクエストの内容が変わりました',
    'prompt.changed': 'このリクエストは表示した後で内容が変わりました。不正の可能性があるため、承認も拒否もできません。心当たりがなければ銀行に連絡してください。',
    'prompt.biometric': '端末の生体認証で本人確認をしてください…',

    'pin.title': 'PINを入力',
    'pin.body': '承認するにはPINを入力してください。',
    'pin.label': 'PIN',
    'pin.submit': '承認する',
    'pin.setTitle': 'PINを設定',
    'pin.current': '現在のPIN',
    'pin.new': '新しいPIN(数字4〜8桁)',
    'pin.confirm': '新しいPIN(確認)',
    'pin.save': '保存',
    'pin.offTitle': 'PINの確認をやめる',
    'pin.offBody': '現在のPINを入力してください。',
    'pin.offSubmit': 'やめる',

    'history.title': '履歴',
    'history.empty': 'まだ履歴はありません。',
    'outcome.approved': '承認',
    'outcome.denied': '拒否',
    'outcome.notMe': '拒否(身に覚えなし)',
    'outcome.expired': '期限切れ',
    'outcome.cancelled': '取り消し',
    'outcome.undeliverable': '未達',
    'outcome.credential_mismatch': '別の端末',
    'outcome.pending': '未回答',

    'settings.title': '設定',
    'settings.language': '表示言語',
    'settings.langSystem': '端末の設定に合わせる',
    'settings.security': 'セキュリティ',
    'settings.pinBeforeApprove': '承認の前にPINを入力する',
    'settings.changePin': 'PINを変更',
    'settings.desktop': 'このパソコン',
    'settings.startAtLogin': 'ログイン時に起動する',
    'settings.startAtLoginHelp': 'ウィンドウを閉じてもアプリは通知領域(トレイ)に残り、承認のリクエストを受け取ります。オンにすると、ログイン時にトレイで起動します。',
    'settings.about': 'この端末',
    'settings.credentialId': 'クレデンシャルID',
    'settings.relay': '中継サーバー',
    'settings.reset': 'クレデンシャルを削除してリセット',
    'settings.resetHelp': 'クレデンシャルIDは無効になり、すべての銀行の利用登録が解除されます。再度使うには、新しいクレデンシャルで利用登録し直す必要があります。',
    'settings.resetTitle': 'クレデンシャルを削除しますか?',
    'settings.resetBody': 'クレデンシャルID {id} は無効になり、登録済みのすべての銀行で承認とセキュリティコードが使えなくなります。この操作は取り消せません。',
    'settings.resetConfirm': '削除する',
    'settings.saved': '保存しました',

    'err.relay_unreachable': '中継サーバーに接続できません。通信環境を確認してください。',
    'err.pin_invalid': 'PINが正しくありません。',
    'err.pin_locked': 'PINの誤りが続いたため、しばらく入力できません。',
    'err.pin_required': 'PINを入力してください。',
    'err.locked': 'PINでロックを解除してください。',
    'err.number_mismatch': '数字が一致しません。銀行の画面の数字を確認してください。',
    'err.number_required': '銀行の画面の数字を入力してください。',
    'err.challenge_decided': 'このリクエストには回答済みです。',
    'err.challenge_expired': '回答期限が過ぎました。',
    'err.not_found': 'リクエストが見つかりません。',
    'err.invalid_input': '入力内容を確認してください。',
    'err.rate_limited': 'しばらく待ってからやり直してください。',
    'err.challenge_changed': 'このリクエストは表示した後で内容が変わりました。不正の可能性があります。',
    'err.challenge_not_shown': 'このリクエストはまだ表示されていません。内容を確認してから回答してください。',
    'err.biometric_failed': '本人確認ができませんでした。承認されていません。',
    'err.generic': 'エラーが発生しました: {m}',
  },
  en: {
    'app.name': 'OnePush',
    'nav.label': 'Main menu',
    'nav.home': 'Home',
    'nav.history': 'History',
    'nav.settings': 'Settings',
    'common.cancel': 'Cancel',
    'common.loading': 'Loading…',

    'setup.title': 'Get started',
    'setup.intro': 'This creates a credential on this device. Then, on your bank\'s registration page, enter the credential ID and two consecutive security codes.',
    'setup.relay': 'Relay server URL',
    'setup.relayHelp': 'Usually you do not need to change this.',
    'setup.kind': 'How this device is used',
    'setup.kindPush': 'Approver (like the phone app)',
    'setup.kindPushHelp': 'Approve your bank\'s requests with one push. Security codes are shown too.',
    'setup.kindOtp': 'This PC as a code token (codes only)',
    'setup.kindOtpHelp': 'Shows security codes only (no approval requests). Its key is sealed in this PC\'s keystore, so the codes can be made on this PC only.',
    'setup.noKeystoreOtp': 'This device has no OS keystore available ({d}). A code token keeps its key in this PC\'s keystore, so it cannot be created here.',
    'setup.usePin': 'Ask for a PIN before approving',
    'setup.usePinHelp': 'The PIN also locks the credential on this device: you enter it when the app opens. Recommended if other people can use this device.',
    'setup.pin': 'PIN (4–8 digits)',
    'setup.pinConfirm': 'PIN (again)',
    'setup.create': 'Create credential',
    'setup.creating': 'Creating…',
    'setup.errRelay': 'Enter a URL starting with https://',
    'setup.errPin': 'The PIN must be 4 to 8 digits.',
    'setup.errPinMatch': 'The two PINs do not match.',
    'setup.noKeystore': 'This device has no OS keystore available ({d}). The credential\'s key is kept in the OS keystore.',
    'setup.fileKey': 'Keep the key in a file instead (weaker)',
    'setup.fileKeyHelp': 'The key is stored in the app\'s folder: anyone who copies that folder can use this credential on another device.',
    'setup.vaultProblem': 'The data on this device cannot be opened: {m}',
    'setup.startOver': 'Start over (remove the unreadable data)',

    'unlock.title': 'Locked',
    'unlock.intro': 'The credential on this device is protected by your PIN. Enter it to unlock the app.',
    'unlock.pin': 'PIN to unlock',
    'unlock.submit': 'Unlock',
    'unlock.forgotHelp': 'If you forgot the PIN, remove the credential from this device and start over. You will have to register with your bank again.',
    'unlock.startOver': 'Forgot the PIN: start over',
    'unlock.startOverTitle': 'Remove the credential?',
    'unlock.startOverBody': 'The credential on this device is removed. This cannot be undone. Register with your bank again afterwards.',

    'home.title': 'Home',
    'home.credentialId': 'Credential ID',
    'home.code': 'Security code',
    'home.secondsLeft': '{s} s left',
    'home.next': 'Next code (for registration)',
    'home.nextHelp': 'Your bank\'s registration page asks for two consecutive codes: the one above, then this one.',
    'home.codeRefreshed': 'New security code',
    'home.kindPush': 'Approver',
    'home.kindOtp': 'PC token (codes only)',
    'home.otpHelp': 'This device shows codes only: type the security code on your bank\'s page. No approval requests come here.',
    'home.pending': 'Waiting for your answer',
    'home.accounts': 'Accounts using this device',
    'home.noAccounts': 'Not registered with a bank yet. On your bank\'s registration page, enter the credential ID and security codes above.',
    'home.accountsError': 'Could not load your accounts (security codes work offline).',
    'home.offline': 'Approve offline (show a code)',
    'offline.title': 'Approve offline',
    'offline.intro': 'For when this device has no network. Paste or type the code the bank shows (the content of its QR code).',
    'offline.payload': 'Code shown by the bank',
    'offline.read': 'Show the request',
    'offline.scan': 'Scan the QR code',
    'offline.cancel': 'Cancel',
    'offline.empty': 'Paste the code the bank shows.',
    'offline.codeLabel': 'Type this code into the bank’s page',
    'offline.codeHelp': 'This code works for this transaction only. Type it in by {time}.',
    'home.userId': 'User ID',

    'state.active': 'Active',
    'state.suspended': 'Suspended',
    'state.unregistered': 'Unregistered',
    'state.locked': 'Locked',

    'kind.login': 'Login',
    'kind.transaction': 'Transaction',
    'kind.admin': 'Admin',
    'prompt.title.login': 'Approve this sign-in?',
    'prompt.title.transaction': 'Approve this transaction?',
    'prompt.title.admin': 'Approve this admin operation?',
    'prompt.back': 'Back',
    'prompt.user': 'User ID',
    'prompt.time': 'Time',
    'prompt.timeLeft': '{s} s left',
    'prompt.timeLeftAnnounce': '{s} seconds left to answer',
    'prompt.ip': 'IP address',
    'prompt.browser': 'Browser',
    'prompt.location': 'Place',
    'prompt.amount': 'Amount',
    'prompt.currency': 'Currency',
    'prompt.payee': 'Payee',
    'prompt.payeeAccount': 'Payee account',
    'prompt.operation': 'Operation',
    'prompt.target': 'Target user ID',
    'prompt.other': 'Other details',
    'prompt.number': 'Enter the two-digit number shown on your bank\'s screen',
    'prompt.approve': 'Approve',
    'prompt.deny': 'Deny',
    'prompt.notMe': 'This wasn\'t me',
    'prompt.notMeTitle': 'Deny and report as not you?',
    'prompt.notMeBody': 'This denies the request and tells your bank it may be fraud. One-push for this user is locked until you contact your bank.',
    'prompt.notMeConfirm': 'Deny and tell my bank',
    'prompt.markerHelp': '⟪U+…⟫ marks an invisible character, such as one that reorders text, found in the request. If you are unsure, deny.',
    'prompt.status.approved': 'Approved',
    'prompt.status.denied': 'Denied',
    'prompt.status.notMe': 'Denied and reported to your bank',
    'prompt.status.expired': 'This request has expired. Start again from your bank\'s screen.',
    'prompt.status.cancelled': 'This request was cancelled.',
    'prompt.status.undeliverable': 'This request could not be delivered.',
    'prompt.status.credential_mismatch': 'This request was answered from another device.',
    'prompt.status.answered': 'This request has already been answered.',
    'prompt.done': 'Back to home',
    'prompt.nextRequest': 'Next request',
    'prompt.changedTitle': 'This request changed',
    'prompt.changed': 'This request changed after it was shown. Treat it as suspicious: it cannot be approved or denied. If you did not expect it, contact your bank.',
    'prompt.biometric': 'Confirm it is you with your device\'s biometrics…',

    'pin.title': 'Enter your PIN',
    'pin.body': 'Enter your PIN to approve.',
    'pin.label': 'PIN',
    'pin.submit': 'Approve',
    'pin.setTitle': 'Set PIN',
    'pin.current': 'Current PIN',
    'pin.new': 'New PIN (4–8 digits)',
    'pin.confirm': 'New PIN (again)',
    'pin.save': 'Save',
    'pin.offTitle': 'Stop asking for a PIN',
    'pin.offBody': 'Enter your current PIN.',
    'pin.offSubmit': 'Turn off',

    'history.title': 'History',
    'history.empty': 'No history yet.',
    'outcome.approved': 'Approved',
    'outcome.denied': 'Denied',
    'outcome.notMe': 'Denied (not me)',
    'outcome.expired': 'Expired',
    'outcome.cancelled': 'Cancelled',
    'outcome.undeliverable': 'Not delivered',
    'outcome.credential_mismatch': 'Other device',
    'outcome.pending': 'Unanswered',

    'settings.title': 'Settings',
    'settings.language': 'Language',
    'settings.langSystem': 'Same as this device',
    'settings.security': 'Security',
    'settings.pinBeforeApprove': 'Ask for a PIN before approving',
    'settings.changePin': 'Change PIN',
    'settings.desktop': 'This computer',
    'settings.startAtLogin': 'Start at login',
    'settings.startAtLoginHelp': 'Closing the window keeps the app in the system tray, where it still receives approval requests. When this is on, the app starts in the tray when you log in.',
    'settings.about': 'This device',
    'settings.credentialId': 'Credential ID',
    'settings.relay': 'Relay server',
    'settings.reset': 'Delete credential and reset',
    'settings.resetHelp': 'The credential ID stops working and every bank registration is removed. To use OnePush again you register a new credential with your bank.',
    'settings.resetTitle': 'Delete this credential?',
    'settings.resetBody': 'Credential ID {id} will stop working: no bank will accept its approvals or security codes. This cannot be undone.',
    'settings.resetConfirm': 'Delete',
    'settings.saved': 'Saved',

    'err.relay_unreachable': 'Cannot reach the relay server. Check your connection.',
    'err.pin_invalid': 'Wrong PIN.',
    'err.pin_locked': 'Too many wrong PINs. Try again later.',
    'err.pin_required': 'Enter your PIN.',
    'err.locked': 'Unlock the app with your PIN first.',
    'err.number_mismatch': 'The number does not match. Check the number on your bank\'s screen.',
    'err.number_required': 'Enter the number shown on your bank\'s screen.',
    'err.challenge_decided': 'This request has already been answered.',
    'err.challenge_expired': 'This request has expired.',
    'err.not_found': 'Request not found.',
    'err.invalid_input': 'Please check what you entered.',
    'err.rate_limited': 'Please wait a moment and try again.',
    'err.challenge_changed': 'This request changed after it was shown. Treat it as suspicious.',
    'err.challenge_not_shown': 'This request was not shown yet. Check it before answering.',
    'err.biometric_failed': 'Your identity was not confirmed. Nothing was approved.',
    'err.generic': 'Something went wrong: {m}',
  },
};

export const LANGUAGES = ['ja', 'en'];
const STORAGE_KEY = 'onepush.language';
let current = 'en';
const subscribers = new Set();

/** 'ja' or 'en' from a BCP 47 tag (anything not Japanese is English). */
export function languageFromTag(tag) {
  return String(tag || '').toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

/** The saved choice: 'ja', 'en' or 'system'. */
export function savedChoice() {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return LANGUAGES.includes(v) ? v : 'system';
  } catch {
    return 'system';
  }
}

/** The language a choice resolves to. */
export function resolveChoice(choice) {
  return LANGUAGES.includes(choice) ? choice : languageFromTag(navigator.language);
}

export function currentLanguage() {
  return current;
}

/** A locale for Intl formatting: the system locale when it matches the language. */
export function locale() {
  const sys = navigator.language || '';
  if (languageFromTag(sys) === current && sys.includes('-')) return sys;
  return current === 'ja' ? 'ja-JP' : 'en-US';
}

/** Looks a string up and fills `{name}` placeholders. */
export function t(key, vars = {}) {
  const table = STRINGS[current] || STRINGS.en;
  let s = table[key];
  if (s === undefined) s = STRINGS.en[key];
  if (s === undefined) return key;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** Fills every `[data-i18n]` and `[data-i18n-attr]` element under root. */
export function applyTranslations(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

/** Saves a choice ('ja', 'en', 'system') and applies it. */
export function choose(choice) {
  try {
    if (LANGUAGES.includes(choice)) localStorage.setItem(STORAGE_KEY, choice);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    /* storage unavailable: the choice lasts for this session */
  }
  setLanguage(resolveChoice(choice));
}

/** Switches the page language, `<html lang>`, static strings, then tells subscribers. */
export function setLanguage(lang) {
  current = LANGUAGES.includes(lang) ? lang : 'en';
  document.documentElement.lang = current;
  applyTranslations();
  document.title = t('app.name');
  for (const cb of subscribers) cb(current);
}

/** Calls cb(lang) after every language change. */
export function onLanguageChange(cb) {
  subscribers.add(cb);
}
